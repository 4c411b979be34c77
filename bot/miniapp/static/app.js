// The dashboard page. It holds no user data: everything comes from /app/api/*, asked with the
// init data Telegram gave this launch (header `Authorization: tma <initData>`). Every money
// figure shown is a *_text string the bot formatted; this script never formats money.
// No script from another origin: Telegram's telegram-web-app.js is not loaded (see README,
// "Mini App"); launch data comes from window.Telegram.WebApp when something provides it, else
// from the URL fragment, and the few client events the page uses go through Telegram's raw
// Mini App event bridge (web_app_ready, web_app_expand, web_app_setup_back_button).
(function () {
  "use strict";

  var API = "/app/api/";
  var PERIODS = ["7d", "30d", "90d", "1y"];
  // The page's words, in the user's language: the bot sends them (`labels`, from its
  // catalogs) first from /app/api/labels, in the language the init data claims, then with
  // the portfolio, in the user's own (their /language choice wins). English stays only when
  // the bot could not be reached at all.
  var TEXT = {
    loading: "Loading…",
    denied: "This dashboard link is not valid any more. Open it again from the bot in Telegram.",
    offline: "The bot could not be reached. Try again in a moment.",
    failed: "Something went wrong on the bot's side. Try again in a moment.",
    no_holdings: "No coins on this account.",
    no_profit: "No profit figures yet.",
    no_history: "No balance history for this period yet.",
    refreshing: "Refreshing…",
    refresh: "Refresh",
    deals: "Active deals",
    deals_short: "Deals",
    bot: "Bot",
    profit: "Profit",
    bots: "Bots",
    today: "Today",
    overall: "Overall",
    unrealized: "Unrealized",
    title: "Dashboard",
  };
  var language = "en";

  var $ = function (id) { return document.getElementById(id); };

  // ---- launch data -------------------------------------------------------------------------
  function fragmentParams() {
    try {
      return new URLSearchParams(window.location.hash.replace(/^#/, ""));
    } catch (e) {
      return new URLSearchParams("");
    }
  }

  function telegramWebApp() {
    var tg = window.Telegram && window.Telegram.WebApp;
    return tg && typeof tg === "object" ? tg : null;
  }

  function parseJson(text) {
    if (!text) return null;
    try {
      var value = JSON.parse(text);
      return value && typeof value === "object" ? value : null;
    } catch (e) {
      return null;
    }
  }

  var fragment = fragmentParams();
  var webApp = telegramWebApp();
  var initData = (webApp && typeof webApp.initData === "string" && webApp.initData) ||
    fragment.get("tgWebAppData") || "";
  var themeParams = (webApp && webApp.themeParams && Object.keys(webApp.themeParams).length &&
    webApp.themeParams) || parseJson(fragment.get("tgWebAppThemeParams")) || null;

  // ---- Telegram's client events, without telegram-web-app.js -------------------------------
  function postEvent(type, data) {
    var payload = JSON.stringify(data || {});
    try {
      if (window.TelegramWebviewProxy && window.TelegramWebviewProxy.postEvent) {
        window.TelegramWebviewProxy.postEvent(type, payload); // mobile clients
      } else if (window.external && "notify" in window.external) {
        window.external.notify(JSON.stringify({ eventType: type, eventData: data || {} })); // desktop
      } else if (window.parent && window.parent !== window) {
        window.parent.postMessage(JSON.stringify({ eventType: type, eventData: data || {} }), "*"); // web
      }
    } catch (e) { /* outside Telegram: nothing to tell */ }
  }

  var clientEvents = {};
  function onClientEvent(type, handler) { clientEvents[type] = handler; }
  function receiveEvent(type, data) {
    var handler = clientEvents[type];
    if (handler) handler(data);
  }
  window.Telegram = window.Telegram || {};
  if (!window.Telegram.WebView) window.Telegram.WebView = { receiveEvent: receiveEvent };
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !/^https:\/\/web\.telegram\.org$/.test(event.origin)) return;
    var message = parseJson(typeof event.data === "string" ? event.data : "");
    if (message && typeof message.eventType === "string") receiveEvent(message.eventType, message.eventData);
  });

  var backButton = {
    show: function () {
      if (webApp && webApp.BackButton) webApp.BackButton.show();
      else postEvent("web_app_setup_back_button", { is_visible: true });
    },
    hide: function () {
      if (webApp && webApp.BackButton) webApp.BackButton.hide();
      else postEvent("web_app_setup_back_button", { is_visible: false });
    },
  };
  // Telegram's BackButton is there to show when its script is, or its client's bridge: the
  // mobile apps' proxy, the desktop app's notify, or the web client's frame around the page.
  // In a plain browser tab (the sandbox's link) the page shows its own back link.
  var insideTelegram = !!(webApp && webApp.BackButton) || !!window.TelegramWebviewProxy ||
    !!(window.external && "notify" in window.external) || window.parent !== window;

  // ---- theme -------------------------------------------------------------------------------
  var COLOR = /^#[0-9a-fA-F]{3,8}$/;
  function applyTheme(params) {
    if (!params) return;
    var root = document.documentElement;
    root.setAttribute("data-theme", "telegram");
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (/^[a-z_]{1,40}$/.test(key) && typeof value === "string" && COLOR.test(value)) {
        root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
      }
    });
    if (params.bg_color && COLOR.test(params.bg_color)) {
      root.setAttribute("data-scheme", luminance(params.bg_color) < 0.5 ? "dark" : "light");
    }
  }
  function luminance(hex) {
    var h = hex.slice(1);
    if (h.length === 3 || h.length === 4) h = h.replace(/(.)/g, "$1$1");
    var r = parseInt(h.slice(0, 2), 16), g = parseInt(h.slice(2, 4), 16), b = parseInt(h.slice(4, 6), 16);
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  }
  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // ---- asking the bot ----------------------------------------------------------------------
  function Problem(sentence, status) { this.sentence = sentence; this.status = status; }

  function ask(method, path) {
    var headers = { Accept: "application/json" };
    // Without init data the bot answers with its own sentence (opened outside Telegram).
    if (initData) headers.Authorization = "tma " + initData;
    return fetch(API + path, {
      method: method,
      headers: headers,
      cache: "no-store",
      credentials: "omit",
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        var sentence = body && typeof body.error === "string" ? body.error : null;
        if (response.status === 401 || response.status === 403) {
          throw new Problem(sentence || TEXT.denied, response.status);
        }
        if (!response.ok || !body) throw new Problem(sentence || TEXT.failed, response.status);
        return body;
      });
    }, function () {
      throw new Problem(TEXT.offline, 0);
    });
  }

  // ---- rendering helpers -------------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  // A table's one row saying why it is empty, across all its columns.
  function emptyRow(body, sentence, columns) {
    var tr = el("tr");
    var td = el("td", "message", sentence);
    td.colSpan = columns;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  function signClass(sign) { return sign > 0 ? "up" : sign < 0 ? "down" : "flat"; }
  function setText(id, text, sign) {
    var node = $(id);
    node.textContent = text == null ? "" : String(text);
    if (sign !== undefined) node.className = node.className.replace(/\b(up|down|flat)\b/g, "").trim() + " " + signClass(sign);
  }
  function showNotice(id, sentence) {
    var node = $(id);
    node.textContent = sentence || "";
    node.hidden = !sentence;
  }

  // Every element marked data-label="key" shows that word (after its data-prefix, a symbol).
  var labelsShown = null;
  function applyLabels(lang, labels) {
    var shown = String(lang) + JSON.stringify(labels || null);
    if (shown === labelsShown) return;
    labelsShown = shown;
    if (labels && typeof labels === "object") {
      Object.keys(labels).forEach(function (key) {
        if (typeof labels[key] === "string" && labels[key]) TEXT[key] = labels[key];
      });
    }
    if (typeof lang === "string" && /^[a-z]{2,3}$/.test(lang)) language = lang;
    document.documentElement.lang = language;
    document.title = "3Commas · " + TEXT.title;
    Array.prototype.forEach.call(document.querySelectorAll("[data-label]"), function (node) {
      var key = node.getAttribute("data-label");
      if (TEXT[key]) node.textContent = (node.getAttribute("data-prefix") || "") + TEXT[key];
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-label-aria]"), function (node) {
      var key = node.getAttribute("data-label-aria");
      if (TEXT[key]) node.setAttribute("aria-label", TEXT[key]);
    });
    if (refreshing) setRefreshing(true);
    var status = $("status");
    if (status.getAttribute("data-loading") === "true") status.textContent = TEXT.loading;
    if (state.account) renderAccount(state.account);
    rerenderChart();
  }

  var main = $("app");
  function showOnly(which, sentence) {
    $("status").textContent = sentence || "";
    $("status").removeAttribute("data-loading");
    $("portfolio").hidden = which !== "portfolio";
    $("account").hidden = which !== "account";
    main.setAttribute("aria-busy", "false");
    main.setAttribute("data-view", which || "message");
  }
  function stop(problem) {
    var sentence = problem instanceof Problem ? problem.sentence : TEXT.failed;
    showOnly(null, sentence);
    backButton.hide();
  }

  // ---- the portfolio -----------------------------------------------------------------------
  var state = { portfolio: null, accountId: null, account: null, period: "30d", span: "day", chart: null };

  function renderPortfolio(data) {
    if (!data.connected) {
      state.portfolio = null;
      showOnly(null, data.message || TEXT.failed);
      return;
    }
    state.portfolio = data;
    applyLabels(data.language, data.labels);
    var total = data.total || {};
    setText("total-balance", total.balance_text);
    setText("total-today", total.today_text, total.today_sign);
    setText("total-note", total.note);
    showNotice("notice", data.notice);
    var list = $("accounts");
    var rows = (data.accounts || []).map(function (account) {
      var item = el("li");
      item.setAttribute("data-account-id", String(account.id));
      var row = el("button", "account-row" + (account.stale ? " stale" : ""));
      row.type = "button";
      row.appendChild(el("span", "account-name", account.name));
      row.appendChild(el("span", "account-balance", account.balance_text));
      row.appendChild(el("span", "account-exchange", account.exchange));
      row.appendChild(el("span", "account-today " + signClass(account.today_sign), account.today_text));
      if (account.updated_text) row.appendChild(el("span", "account-updated", account.updated_text));
      row.addEventListener("click", function () { openAccount(account.id); });
      item.appendChild(row);
      return item;
    });
    list.replaceChildren.apply(list, rows);
    if (state.accountId === null) showOnly("portfolio");
  }

  var refreshing = false;
  function setRefreshing(on) {
    refreshing = on;
    ["refresh", "account-refresh"].forEach(function (id) {
      $(id).disabled = on;
      $(id).textContent = "⟳ " + (on ? TEXT.refreshing : TEXT.refresh);
    });
    main.setAttribute("data-refreshing", on ? "true" : "false");
  }

  function refresh() {
    if (refreshing) return Promise.resolve();
    setRefreshing(true);
    return ask("POST", "refresh").then(function (data) {
      renderPortfolio(data);
      if (state.accountId !== null && data.connected) {
        showNotice("account-notice", data.notice);
        return loadAccount(state.accountId, true);
      }
    }, stop).then(function () {
      setRefreshing(false);
      main.setAttribute("data-refreshed", String(Number(main.getAttribute("data-refreshed") || 0) + 1));
    });
  }

  // ---- one account -------------------------------------------------------------------------
  var accountRequest = 0;

  function openAccount(id) {
    state.accountId = id;
    state.account = null;
    clearAccount();
    showOnly("account");
    showNotice("account-notice", null);
    window.scrollTo(0, 0);
    if (insideTelegram) backButton.show();
    else $("back").hidden = false;
    loadAccount(id, false);
  }

  function closeAccount() {
    state.accountId = null;
    state.account = null;
    accountRequest += 1;
    destroyChart();
    backButton.hide();
    $("back").hidden = true;
    if (state.portfolio) showOnly("portfolio");
  }

  function clearAccount() {
    ["account-title", "account-balance", "account-today", "account-exchange", "chart-summary",
     "chart-change", "holdings-total"].forEach(function (id) { setText(id, ""); });
    $("chart-readout").textContent = "\u00a0";
    $("holdings").tBodies[0].replaceChildren();
    $("profit").tBodies[0].replaceChildren();
    $("bots").hidden = true;
    destroyChart();
    state.history = null;
    $("chart").removeAttribute("data-period");
  }

  function loadAccount(id, again) {
    var request = ++accountRequest;
    return ask("GET", "accounts/" + encodeURIComponent(id)).then(function (data) {
      if (request !== accountRequest) return;
      state.account = data;
      renderAccount(data);
      return loadHistory(id, state.period, again);
    }, function (problem) {
      if (request !== accountRequest) return;
      if (problem instanceof Problem && problem.status === 404) {
        closeAccount();
        showNotice("notice", problem.sentence);
      } else {
        stop(problem);
      }
    });
  }

  function renderAccount(data) {
    setText("account-title", data.name);
    setText("account-balance", data.balance_text);
    setText("account-today", data.today_text, data.today_sign);
    setText("account-exchange", data.exchange);
    if (data.notice) showNotice("account-notice", data.notice);

    var body = $("holdings").tBodies[0];
    var holdings = data.holdings || [];
    body.replaceChildren.apply(body, holdings.map(function (h) {
      var tr = el("tr");
      tr.appendChild(el("td", "", h.coin));
      tr.appendChild(el("td", "num", h.amount_text));
      tr.appendChild(el("td", "num", h.value_text));
      tr.appendChild(el("td", "num", h.share_text));
      return tr;
    }));
    if (!holdings.length) emptyRow(body, TEXT.no_holdings, 4);
    setText("holdings-total", data.holdings_total_text);
    renderProfit();
    renderBots(data.bots);
  }

  function renderProfit() {
    var rows = (state.account && state.account.profit && state.account.profit[state.span]) || [];
    var body = $("profit").tBodies[0];
    body.replaceChildren.apply(body, rows.map(function (row) {
      var tr = el("tr");
      tr.appendChild(el("td", "", row.label));
      tr.appendChild(el("td", "num " + signClass(row.sign), row.profit_text));
      tr.appendChild(el("td", "num " + signClass(row.sign), row.pct_text));
      return tr;
    }));
    if (!rows.length) emptyRow(body, TEXT.no_profit, 3);
    $("profit").setAttribute("data-span", state.span);
    pressed("profit-tabs", "span", state.span);
  }

  function renderBots(bots) {
    var section = $("bots"), body = $("bots-body");
    if (!bots) { section.hidden = true; body.replaceChildren(); return; }
    var parts = [];
    if (bots.message) {
      parts.push(el("p", "message", bots.message));
    } else {
      var summary = el("table", "table");
      var sbody = el("tbody");
      [[TEXT.today, bots.today_text], [TEXT.overall, bots.overall_text], [TEXT.unrealized, bots.unrealized_text]]
        .forEach(function (pair) {
          if (pair[1] == null) return;
          var tr = el("tr");
          tr.appendChild(el("td", "", pair[0]));
          tr.appendChild(el("td", "num", pair[1]));
          sbody.appendChild(tr);
        });
      summary.appendChild(sbody);
      parts.push(summary);
      if (bots.rows && bots.rows.length) {
        parts.push(el("div", "subhead", TEXT.bots));
        var table = el("table", "table"), tbody = el("tbody"), head = el("thead"), headRow = el("tr");
        headRow.appendChild(el("th", "", TEXT.bot));
        headRow.appendChild(el("th", "num", TEXT.profit));
        headRow.appendChild(el("th", "num", TEXT.deals_short));
        head.appendChild(headRow);
        table.appendChild(head);
        bots.rows.forEach(function (row) {
          var tr = el("tr");
          tr.appendChild(el("td", "", row.name));
          tr.appendChild(el("td", "num", row.profit_text));
          tr.appendChild(el("td", "num", row.active_deals));
          tbody.appendChild(tr);
        });
        table.appendChild(tbody);
        parts.push(table);
      }
      if (bots.deals && bots.deals.length) {
        parts.push(el("div", "subhead", TEXT.deals));
        var deals = el("table", "table"), dbody = el("tbody");
        bots.deals.forEach(function (deal) {
          var tr = el("tr");
          var name = el("td", "");
          name.appendChild(el("div", "", deal.pair));
          name.appendChild(el("div", "hint", deal.bot));
          tr.appendChild(name);
          tr.appendChild(el("td", "num " + signClass(deal.sign), deal.profit_text));
          tr.appendChild(el("td", "num " + signClass(deal.sign), deal.pct_text));
          dbody.appendChild(tr);
        });
        deals.appendChild(dbody);
        parts.push(deals);
      }
    }
    body.replaceChildren.apply(body, parts);
    section.hidden = false;
  }

  function pressed(groupId, key, value) {
    Array.prototype.forEach.call($(groupId).querySelectorAll("button"), function (button) {
      button.setAttribute("aria-pressed", button.getAttribute("data-" + key) === value ? "true" : "false");
    });
  }

  // ---- the balance chart -------------------------------------------------------------------
  var historyRequest = 0;

  function loadHistory(id, period, again) {
    var request = ++historyRequest;
    state.period = period;
    pressed("periods", "period", period);
    $("chart").setAttribute("aria-busy", "true");
    return ask("GET", "accounts/" + encodeURIComponent(id) + "/history?period=" + encodeURIComponent(period))
      .then(function (data) {
        if (request !== historyRequest || state.accountId !== id) return;
        renderChart(data);
      }, function (problem) {
        if (request !== historyRequest || state.accountId !== id) return;
        if (problem instanceof Problem && (problem.status === 401 || problem.status === 403)) stop(problem);
        else setText("chart-summary", problem instanceof Problem ? problem.sentence : TEXT.failed);
      });
  }

  function destroyChart() {
    if (state.chart) { state.chart.destroy(); state.chart = null; }
    $("chart").replaceChildren();
  }

  function renderChart(data) {
    destroyChart();
    state.history = data;
    var box = $("chart");
    var points = Array.isArray(data.points) ? data.points : [];
    var texts = Array.isArray(data.point_texts) && data.point_texts.length === points.length ? data.point_texts : null;
    var xs = points.map(function (p) { return p[0]; });
    var ys = points.map(function (p) { return p[1]; });
    var deposits = (data.deposits || []).filter(function (d) {
      return xs.length && d.t >= xs[0] && d.t <= xs[xs.length - 1];
    });
    box.setAttribute("data-period", data.period || state.period);
    box.setAttribute("data-points", String(points.length));
    box.setAttribute("data-deposits", String(deposits.length));
    box.removeAttribute("aria-busy");
    setText("chart-summary", [data.first_text, data.last_text].filter(Boolean).join(" → "));
    // the change between the two balances less deposits and withdrawals: said so, as /chart does
    setText("chart-change", data.change_sentence || data.change_text || "");
    var readout = $("chart-readout");
    readout.textContent = "\u00a0";
    if (points.length < 2 || typeof window.uPlot !== "function") {
      box.appendChild(el("p", "message", data.notice || TEXT.no_history));
      return;
    }
    // each deposit at its nearest point, for the readout
    var depositsAt = {};
    deposits.forEach(function (d) {
      var i = nearest(xs, d.t);
      (depositsAt[i] = depositsAt[i] || []).push(d.text);
    });
    var line = cssVar("--tg-theme-button-color") || "#2481cc";
    var hint = cssVar("--tg-theme-hint-color") || "#888";
    var grid = cssVar("--tg-theme-secondary-bg-color") || "#eee";
    var width = Math.max(200, box.clientWidth || 300);
    var opts = {
      width: width,
      height: Math.round(Math.min(260, Math.max(180, width * 0.55))),
      padding: [8, 16, 0, 4],
      legend: { show: false },
      scales: { x: { time: true } },
      fmtDate: function (template) { return window.uPlot.fmtDate(template, dateNames()); },
      cursor: { y: false, points: { size: 8, fill: line }, drag: { x: false, y: false } },
      series: [
        {},
        { stroke: line, width: 2, fill: line + "22", points: { show: false } },
      ],
      axes: [
        { stroke: hint, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: 32 },
        // No figures on the y axis: they would be money formatted here (see the summary above).
        { stroke: hint, grid: { stroke: grid, width: 1 }, ticks: { show: false }, size: 14,
          values: function (u, splits) { return splits.map(function () { return ""; }); } },
      ],
      hooks: {
        draw: [function (u) { drawDeposits(u, deposits, cssVar("--tg-theme-link-color") || hint); }],
        setCursor: [function (u) {
          var i = u.cursor.idx;
          if (i == null) { readout.textContent = "\u00a0"; readout.removeAttribute("data-index"); return; }
          var parts = [dateText(xs[i])];
          if (texts) parts.push(texts[i]);
          if (depositsAt[i]) parts = parts.concat(depositsAt[i]);
          readout.textContent = parts.join(" · ");
          readout.setAttribute("data-index", String(i));
        }],
      },
    };
    state.chart = new window.uPlot(opts, [xs, ys], box);
    touchCursor(state.chart);
  }

  function nearest(xs, t) {
    var best = 0;
    for (var i = 1; i < xs.length; i++) if (Math.abs(xs[i] - t) < Math.abs(xs[best] - t)) best = i;
    return best;
  }

  function drawDeposits(u, deposits, color) {
    var ctx = u.ctx, top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
    ctx.save();
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = Math.max(1, devicePixelRatio);
    ctx.globalAlpha = 0.8;
    deposits.forEach(function (d) {
      var x = Math.round(u.valToPos(d.t, "x", true));
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      var s = 5 * devicePixelRatio;
      ctx.beginPath();
      ctx.moveTo(x - s, top);
      ctx.lineTo(x + s, top);
      ctx.lineTo(x, top + s * 1.4);
      ctx.closePath();
      ctx.fill();
    });
    ctx.restore();
  }

  // uPlot follows the mouse; a finger moving over the chart moves the cursor too.
  function touchCursor(u) {
    function move(event) {
      var touch = event.touches && event.touches[0];
      if (!touch) return;
      var rect = u.over.getBoundingClientRect();
      u.setCursor({ left: Math.min(rect.width, Math.max(0, touch.clientX - rect.left)), top: rect.height / 2 });
    }
    u.over.addEventListener("touchstart", move, { passive: true });
    u.over.addEventListener("touchmove", move, { passive: true });
    // No mouse events made up from the tap: they would move the value away from the finger.
    u.over.addEventListener("touchend", function (event) {
      if (event.cancelable) event.preventDefault();
    }, { passive: false });
  }

  // ---- wiring ------------------------------------------------------------------------------
  function start() {
    applyTheme(themeParams);
    if (webApp && typeof webApp.onEvent === "function") {
      webApp.onEvent("themeChanged", function () { applyTheme(webApp.themeParams); rerenderChart(); });
    }
    onClientEvent("theme_changed", function (data) {
      if (data && data.theme_params) { applyTheme(data.theme_params); rerenderChart(); }
    });
    if (webApp && webApp.BackButton && typeof webApp.BackButton.onClick === "function") {
      webApp.BackButton.onClick(closeAccount);
    }
    onClientEvent("back_button_pressed", closeAccount);
    if (webApp && typeof webApp.ready === "function") { webApp.ready(); webApp.expand && webApp.expand(); }
    else { postEvent("web_app_ready"); postEvent("web_app_expand"); }

    $("refresh").addEventListener("click", refresh);
    $("account-refresh").addEventListener("click", refresh);
    $("back").addEventListener("click", function (event) { event.preventDefault(); closeAccount(); });
    $("periods").addEventListener("click", function (event) {
      var period = event.target.getAttribute && event.target.getAttribute("data-period");
      if (period && PERIODS.indexOf(period) >= 0 && state.accountId !== null) loadHistory(state.accountId, period, false);
    });
    $("profit-tabs").addEventListener("click", function (event) {
      var span = event.target.getAttribute && event.target.getAttribute("data-span");
      if (span) { state.span = span; renderProfit(); }
    });
    pullToRefresh();
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(rerenderChart, 150);
    });

    // The page's words, and at the same time the last known figures, shown once the words
    // are there; then fresh figures from 3Commas, in place.
    var status = $("status");
    status.setAttribute("data-loading", "true");
    var words = ask("GET", "labels").then(function (data) {
      applyLabels(data.language, data.labels);
    }, function () {
      applyLabels(null, null);
    });
    var portfolio = ask("GET", "portfolio");
    words.then(function () { return portfolio; }).then(function (data) {
      renderPortfolio(data);
      if (data.connected) return refresh();
    }, stop);
  }

  // Pulling the page down from its top refreshes, as the refresh button does.
  function pullToRefresh() {
    var startY = null, pulled = 0, PULL = 70;
    var hintNode = el("div", "pull", TEXT.refresh);
    hintNode.setAttribute("data-label", "refresh");
    hintNode.setAttribute("data-prefix", "⟳ ");
    hintNode.hidden = true;
    main.insertBefore(hintNode, main.firstChild);
    document.addEventListener("touchstart", function (event) {
      startY = window.scrollY <= 0 && event.touches.length === 1 ? event.touches[0].clientY : null;
      pulled = 0;
    }, { passive: true });
    document.addEventListener("touchmove", function (event) {
      if (startY === null) return;
      pulled = event.touches[0].clientY - startY;
      hintNode.hidden = pulled < PULL / 2 || refreshing;
    }, { passive: true });
    document.addEventListener("touchend", function () {
      hintNode.hidden = true;
      if (startY !== null && pulled >= PULL && initData) refresh();
      startY = null;
    }, { passive: true });
  }

  // Dates on the chart in the user's language (never the device's).
  function dateText(seconds) {
    try {
      return new Date(seconds * 1000).toLocaleDateString(language, { day: "numeric", month: "short", year: "numeric" });
    } catch (e) {
      return new Date(seconds * 1000).toISOString().slice(0, 10);
    }
  }
  var namesOf = {};
  function dateNames() {
    if (namesOf[language]) return namesOf[language];
    var names = { MMMM: [], MMM: [], WWWW: [], WWW: [] };
    try {
      for (var m = 0; m < 12; m++) {
        var month = new Date(Date.UTC(2021, m, 15));
        names.MMMM.push(month.toLocaleDateString(language, { month: "long", timeZone: "UTC" }));
        names.MMM.push(month.toLocaleDateString(language, { month: "short", timeZone: "UTC" }));
      }
      for (var d = 0; d < 7; d++) {
        var day = new Date(Date.UTC(2021, 0, 3 + d)); // 3 Jan 2021: a Sunday
        names.WWWW.push(day.toLocaleDateString(language, { weekday: "long", timeZone: "UTC" }));
        names.WWW.push(day.toLocaleDateString(language, { weekday: "short", timeZone: "UTC" }));
      }
    } catch (e) {
      names = undefined;
    }
    namesOf[language] = names;
    return names;
  }

  function rerenderChart() {
    if (state.chart && state.history) renderChart(state.history);
  }

  start();
})();
