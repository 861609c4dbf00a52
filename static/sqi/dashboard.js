/* The officer dashboard (/dashboard/): its filter form and its three ECharts charts.
 *
 * The figures come from <script type="application/json"> blocks written by Django's
 * json_script (the CSP allows no inline code). Every chart has an aria-label and a table
 * with the same figures, so nothing depends on seeing it. Elder mode (body.elder) draws
 * larger text and black-on-white. The filter form works without this file; with it,
 * choosing another kind of period shows the right fields and reloads with that kind's
 * latest full period.
 */
(function () {
  "use strict";

  var COLOURS = {
    received: "#0b3d6e",
    decided: "#2f7d4f",
    open: "#6b7685",
    overdue: "#a3211a"
  };

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

  function style() {
    var big = document.body.classList.contains("elder");
    return {
      font: big ? 18 : 13,
      ink: big ? "#000000" : "#1b1f24",
      muted: big ? "#1b1f24" : "#4a5361",
      grid: big ? "#3d4550" : "#d5dbe3",
      family: getComputedStyle(document.body).fontFamily
    };
  }

  function base(s) {
    return {
      animation: false,
      textStyle: { fontFamily: s.family, fontSize: s.font, color: s.ink },
      legend: { top: 0, textStyle: { fontSize: s.font, color: s.ink } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, textStyle: { fontSize: s.font } }
    };
  }

  function valueAxis(s) {
    return {
      type: "value",
      minInterval: 1,
      axisLabel: { fontSize: s.font, color: s.ink },
      splitLine: { lineStyle: { color: s.grid } }
    };
  }

  function bars(name, values, colour, pattern) {
    return {
      name: name,
      type: "bar",
      data: values,
      barMaxWidth: 36,
      itemStyle: { color: colour, decal: pattern ? { symbol: pattern, dashArrayX: [1, 0], dashArrayY: [3, 5], rotation: 0.7, color: "rgba(255,255,255,0.55)" } : null },
      label: { show: values.length <= 6, position: "top", color: "inherit" }
    };
  }

  function trendOption(d, s) {
    var option = base(s);
    option.grid = { left: s.font * 3.5, right: s.font * 1.5, top: s.font * 3.5, bottom: s.font * 2.5 };
    option.xAxis = {
      type: "category",
      data: d.months,
      axisLabel: { fontSize: s.font, color: s.ink },
      axisLine: { lineStyle: { color: s.muted } }
    };
    option.yAxis = valueAxis(s);
    option.series = [
      bars(d.labels.received, d.received, COLOURS.received),
      bars(d.labels.decided, d.decided, COLOURS.decided),
      bars(d.labels.overdue, d.overdue, COLOURS.overdue, "rect")
    ];
    if (d.period) {
      // Shade the chosen period's months; the table marks them in words.
      option.series[0].markArea = {
        silent: true,
        itemStyle: { color: "rgba(242, 193, 78, 0.22)" },
        label: { show: true, position: "insideTop", color: s.ink, fontSize: s.font - 1, offset: [0, -2] },
        data: [[{ name: d.labels.period, xAxis: d.period[0] }, { xAxis: d.period[1] }]]
      };
    }
    return option;
  }

  function categoriesOption(d, s) {
    var option = base(s);
    option.legend = { show: false };
    option.grid = { left: 8, right: s.font * 3, top: 8, bottom: 8, containLabel: true };
    option.yAxis = {
      type: "category",
      inverse: true,
      data: d.categories,
      axisLabel: { fontSize: s.font, color: s.ink },
      axisLine: { lineStyle: { color: s.muted } }
    };
    option.xAxis = valueAxis(s);
    var series = bars(d.labels.count, d.counts, COLOURS.received);
    series.label = { show: true, position: "right", color: s.ink, fontSize: s.font };
    option.series = [series];
    return option;
  }

  function childrenOption(d, s, el) {
    var option = base(s);
    var slot = Math.max(56, Math.floor((el.clientWidth - 80) / Math.max(1, d.units.length)) - 12);
    option.grid = { left: s.font * 3.5, right: s.font * 1.5, top: s.font * 3.5, bottom: 8, containLabel: true };
    option.xAxis = {
      type: "category",
      data: d.units,
      axisLabel: { fontSize: s.font, color: s.ink, interval: 0, overflow: "break", width: slot },
      axisLine: { lineStyle: { color: s.muted } }
    };
    option.yAxis = valueAxis(s);
    option.series = [
      bars(d.labels.received, d.received, COLOURS.received),
      bars(d.labels.open, d.open, COLOURS.open),
      bars(d.labels.overdue, d.overdue, COLOURS.overdue, "rect")
    ];
    return option;
  }

  function draw(chartId, dataId, optionFor, charts) {
    var el = document.getElementById(chartId);
    var d = data(dataId);
    if (!el || !d || !window.echarts) {
      return;
    }
    el.textContent = "";
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(optionFor(d, style(), el));
    charts.push(chart);
  }

  function filters() {
    var form = document.querySelector("[data-dash-filters]");
    if (!form) {
      return;
    }
    var kind = form.querySelector("select[name=period]");
    var calendar = form.querySelector("[data-period-calendar]");
    var custom = form.querySelector("[data-period-custom]");
    var value = form.querySelector("select[name=value]");
    if (!kind || !calendar || !custom) {
      return;
    }
    kind.addEventListener("change", function () {
      var isCustom = kind.value === "custom";
      calendar.hidden = isCustom;
      custom.hidden = !isCustom;
      if (isCustom) {
        var start = custom.querySelector("input");
        if (start) {
          start.focus();
        }
        return;
      }
      // The menu lists the periods of the old kind: drop the choice and let the page
      // pick the latest full period of the new kind.
      if (value) {
        value.disabled = true;
      }
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
    form.addEventListener("submit", function () {
      // Leave the hidden group's fields out of the address.
      var hidden = kind.value === "custom" ? calendar : custom;
      hidden.querySelectorAll("input, select").forEach(function (el) {
        el.disabled = true;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    filters();
    var charts = [];
    draw("dash-trend-chart", "dash-trend-data", trendOption, charts);
    draw("dash-categories-chart", "dash-categories-data", categoriesOption, charts);
    draw("dash-children-chart", "dash-children-data", childrenOption, charts);
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) {
        chart.resize();
      });
    });
  });
})();
