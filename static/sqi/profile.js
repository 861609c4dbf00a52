/* Charts of an insurer's profile (/insurers/<slug>/), drawn with the vendored ECharts.
 *
 * The figures come from <script type="application/json"> blocks written by Django's
 * json_script (the CSP allows no inline code). Each chart has an aria-label and a table
 * with the same figures beside it, so nothing depends on seeing the chart. Elder mode
 * (body.elder) draws larger text, thicker lines and black-on-white.
 */
(function () {
  "use strict";

  var BRAND = "#0b3d6e";
  var GOLD = "#b7791f";
  var GREY = "#6b7685";

  function data(id) {
    var el = document.getElementById(id);
    if (!el) {
      return null;
    }
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return null;
    }
  }

  function elder() {
    return document.body.classList.contains("elder");
  }

  function style() {
    var big = elder();
    return {
      font: big ? 18 : 13,
      line: big ? 4 : 2.5,
      symbol: big ? 12 : 8,
      ink: big ? "#000000" : "#1b1f24",
      muted: big ? "#1b1f24" : "#4a5361",
      grid: big ? "#3d4550" : "#d5dbe3",
      brand: big ? "#031d3b" : BRAND,
      family: getComputedStyle(document.body).fontFamily
    };
  }

  function start(container) {
    container.textContent = "";
    return window.echarts.init(container, null, { renderer: "canvas" });
  }

  function historyOption(d, s) {
    var labels = d.labels;
    var maxRank = Math.max.apply(null, d.ranked.concat(d.ranks).concat([1]));
    var minScore = Math.min.apply(null, d.totals.concat(d.industry.filter(function (v) { return v !== null; })));
    return {
      animation: false,
      textStyle: { fontFamily: s.family, fontSize: s.font, color: s.ink },
      legend: { top: 0, textStyle: { fontSize: s.font, color: s.ink } },
      tooltip: { trigger: "axis", textStyle: { fontSize: s.font } },
      grid: { left: s.font * 4, right: s.font * 4, top: s.font * 4.5, bottom: s.font * 2.5 },
      xAxis: {
        type: "category",
        data: d.periods,
        boundaryGap: true,
        axisLabel: { fontSize: s.font, color: s.ink },
        axisLine: { lineStyle: { color: s.muted } }
      },
      yAxis: [
        {
          type: "value",
          name: labels.total,
          min: Math.max(0, Math.floor((minScore - 5) / 10) * 10),
          max: 100,
          nameTextStyle: { fontSize: s.font, color: s.muted },
          axisLabel: { fontSize: s.font, color: s.ink },
          splitLine: { lineStyle: { color: s.grid } }
        },
        {
          type: "value",
          name: labels.rank,
          nameLocation: "start",
          inverse: true,
          min: 1,
          max: maxRank,
          minInterval: 1,
          nameTextStyle: { fontSize: s.font, color: s.muted },
          axisLabel: { fontSize: s.font, color: s.ink },
          splitLine: { show: false }
        }
      ],
      series: [
        {
          name: labels.total,
          type: "line",
          data: d.totals,
          yAxisIndex: 0,
          symbolSize: s.symbol,
          lineStyle: { width: s.line, color: s.brand },
          itemStyle: { color: s.brand },
          label: {
            show: true,
            position: "top",
            fontSize: s.font,
            color: s.ink,
            formatter: function (p) { return Number(p.value).toFixed(2); }
          }
        },
        {
          name: labels.industry,
          type: "line",
          data: d.industry,
          yAxisIndex: 0,
          symbol: "diamond",
          symbolSize: s.symbol,
          lineStyle: { width: s.line - 0.5, type: "dashed", color: GREY },
          itemStyle: { color: GREY }
        },
        {
          name: labels.rank,
          type: "line",
          data: d.ranks,
          yAxisIndex: 1,
          symbol: "rect",
          symbolSize: s.symbol,
          lineStyle: { width: s.line, color: GOLD },
          itemStyle: { color: GOLD },
          tooltip: {
            valueFormatter: function (v, i) {
              return typeof i === "number" ? v + " / " + d.ranked[i] : String(v);
            }
          }
        }
      ]
    };
  }

  function radarOption(d, s) {
    return {
      animation: false,
      textStyle: { fontFamily: s.family, fontSize: s.font, color: s.ink },
      legend: { bottom: 0, textStyle: { fontSize: s.font, color: s.ink } },
      tooltip: { trigger: "item", textStyle: { fontSize: s.font } },
      radar: {
        indicator: d.indicators,
        radius: "62%",
        center: ["50%", "48%"],
        axisName: { fontSize: s.font, color: s.ink },
        splitLine: { lineStyle: { color: s.grid } },
        axisLine: { lineStyle: { color: s.grid } },
        splitArea: { show: false }
      },
      series: [
        {
          type: "radar",
          symbolSize: s.symbol,
          data: [
            {
              name: d.labels.median,
              value: d.median,
              symbol: "diamond",
              lineStyle: { width: s.line - 0.5, type: "dashed", color: GREY },
              itemStyle: { color: GREY }
            },
            {
              name: d.labels.insurer,
              value: d.insurer,
              lineStyle: { width: s.line, color: s.brand },
              itemStyle: { color: s.brand },
              areaStyle: { color: "rgba(11, 61, 110, 0.18)" }
            }
          ]
        }
      ]
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.echarts) {
      return;
    }
    var charts = [];
    var s = style();
    var history = data("sqi-history-data");
    var historyEl = document.getElementById("sqi-history-chart");
    if (history && historyEl) {
      var line = start(historyEl);
      line.setOption(historyOption(history, s));
      charts.push(line);
    }
    var radar = data("sqi-radar-data");
    var radarEl = document.getElementById("sqi-radar-chart");
    if (radar && radarEl) {
      var r = start(radarEl);
      r.setOption(radarOption(radar, s));
      charts.push(r);
    }
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  });
})();
