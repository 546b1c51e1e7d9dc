import argparse
import time

from django.core.management.base import BaseCommand

from core import changes
from enterprises.models import Enterprise
from policies.models import Policy
from portal.dev.demo.enterprises import generate_enterprises
from portal.dev.demo.history import generate_history
from portal.dev.demo.policies import generate_policies


class Command(BaseCommand):
    help = "生成演示数据：带画像标签的企业（COPY 批量写入）与四级政策。可重复运行。"

    def add_arguments(self, parser):
        parser.add_argument("--enterprises", type=int, default=20_000, help="企业数量（默认 20000，全市规模 1110000）")
        parser.add_argument("--policies", type=int, default=300, help="政策数量（默认 300）")
        parser.add_argument("--seed", type=int, default=20261122, help="随机种子，相同种子生成相同数据")
        parser.add_argument(
            "--if-empty", action="store_true", help="仅在库中尚无企业与政策时生成（make demo 使用，重复运行安全）"
        )
        parser.add_argument(
            "--history",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="同时生成过去几周的推送历史（打开、反馈、好差评、纠错），让数据看板一打开就有内容（默认生成）",
        )

    def handle(self, *args, enterprises: int, policies: int, seed: int, if_empty: bool, history: bool, **options):
        if if_empty and (Enterprise.objects.exists() or Policy.objects.exists()):
            firms, policies_now = Enterprise.objects.count(), Policy.objects.count()
            self.stdout.write(f"已有演示数据（企业 {firms:,} 家，政策 {policies_now:,} 条），跳过生成。")
            return
        started = time.monotonic()
        if policies:
            made = generate_policies(count=policies, seed=seed)
            self.stdout.write(f"政策：已生成 {made:,} 条（{time.monotonic() - started:.1f} 秒）")
        if enterprises:
            firm_start = time.monotonic()

            def progress(done: int, total: int) -> None:
                rate = done / max(time.monotonic() - firm_start, 1e-6)
                self.stdout.write(f"\r企业：{done:,}/{total:,}（{rate:,.0f} 家/秒）", ending="")
                self.stdout.flush()

            links = generate_enterprises(count=enterprises, seed=seed, progress=progress)
            elapsed = time.monotonic() - firm_start
            self.stdout.write(
                f"\n企业：已生成 {enterprises:,} 家，画像标签 {links:,} 条（{elapsed:.1f} 秒，"
                f"{enterprises / max(elapsed, 1e-6):,.0f} 家/秒）"
            )
        changes.enterprises_changed(None)  # running processes rebuild their matching index
        if history and enterprises and policies:
            history_start = time.monotonic()
            made = generate_history(seed=seed)
            self.stdout.write(
                f"推送历史：{made['pushes']} 个批次、{made['messages']:,} 条短信，好差评 {made['ratings']} 条，"
                f"纠错 {made['corrections']} 条（{time.monotonic() - history_start:.1f} 秒）"
            )
        if enterprises and policies:
            from portal.dev.demo.payouts import generate_payouts

            made = generate_payouts(seed=seed)
            if made["round"] is not None:
                r = made["round"]
                self.stdout.write(
                    f"兑现：免申即享批次“{r.name}”公示中（{r.listed_count:,} 户，{r.total_amount:,.2f} 元），"
                    f"申报办理状态 {made['applications']:,} 条"
                )
        self.stdout.write(self.style.SUCCESS(f"演示数据生成完成，用时 {time.monotonic() - started:.1f} 秒。"))
