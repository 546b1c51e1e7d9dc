from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("hooks/sms/<str:vendor>/<str:secret>/receipts", views.receipt_webhook, name="receipts"),
    path("hooks/sms/<str:vendor>/<str:secret>/replies", views.reply_webhook, name="replies"),
]
