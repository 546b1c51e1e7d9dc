/* 数据看板: draws the charts from the JSON the page carries (ECharts, served by the app itself). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dash-charts").textContent);
  var charts = [];
  var palette = ["#1f5fa8", "#2f8fd8", "#37a2a0", "#67b25a", "#e6a23c", "#d9534f", "#8e6bc4", "#7a7a7a"];

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ color: palette, animation: false }, option));
    charts.push(chart);
  }

  function empty(text) {
    return { title: { text: text || "暂无数据", left: "center", top: "middle", textStyle: { color: "#999", fontSize: 14 } } };
  }

  function pct(value) { return value === null || value === undefined ? "—" : value + "%"; }

  function start() {
    var funnel = data.funnel || [];
    draw("chart-funnel", funnel.length && funnel[0].value ? {
      tooltip: { trigger: "item", formatter: "{b}：{c} 家" },
      series: [{
        type: "funnel", left: "5%", width: "90%", top: 10, bottom: 10, minSize: "8%", sort: "none", gap: 2,
        label: { show: true, position: "inside", formatter: "{b} {c}", color: "#fff", fontWeight: "bold",
                 textBorderColor: "rgba(0,0,0,0.35)", textBorderWidth: 2 }, data: funnel
      }]
    } : empty("所选范围内暂无推送"));

    var daily = data.daily || { days: [], series: [] };
    draw("chart-daily", daily.days.length ? {
      tooltip: { trigger: "axis" }, legend: { type: "scroll", bottom: 0 },
      grid: { left: 48, right: 16, top: 16, bottom: 56 },
      xAxis: { type: "category", data: daily.days }, yAxis: { type: "value", name: "企业数" },
      series: daily.series.map(function (s) { return { name: s.name, type: "line", showSymbol: false, data: s.data }; })
    } : empty());

    var hours = data.hours || [];
    var hourTotal = hours.reduce(function (a, b) { return a + b; }, 0);
    draw("chart-hours", hourTotal ? {
      tooltip: { trigger: "axis", formatter: function (p) { return "发送后第 " + p[0].name + " 小时：" + p[0].value + " 家首次打开"; } },
      grid: { left: 48, right: 16, top: 16, bottom: 40 },
      xAxis: { type: "category", name: "小时", data: hours.map(function (_, i) { return i === hours.length - 1 ? i + "+" : String(i); }) },
      yAxis: { type: "value", name: "首次打开" },
      series: [{ type: "bar", data: hours, itemStyle: { color: "#2f8fd8" } }]
    } : empty("暂无打开记录"));

    [["chart-regions", data.regions], ["chart-sizes", data.sizes]].forEach(function (pair) {
      var d = pair[1] || { names: [], rates: [] };
      draw(pair[0], d.names.length ? {
        tooltip: { trigger: "axis", formatter: function (p) { return p[0].name + "：打开率 " + pct(p[0].value); } },
        grid: { left: 80, right: 40, top: 16, bottom: 24 },
        xAxis: { type: "value", name: "%", max: 100 },
        yAxis: { type: "category", data: d.names, inverse: true },
        series: [{ type: "bar", data: d.rates, label: { show: true, position: "right", formatter: function (p) { return pct(p.value); } } }]
      } : empty());
    });

    (data.extra || []).forEach(function (chart) { draw(chart.id, chart.option); });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
