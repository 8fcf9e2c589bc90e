/* Timeline pages: fold months; filter by outlet, tags and dates without a reload.
 *
 * Without JavaScript the page is a plain list and every link works. With it,
 * each month gets a fold button and (on the timeline) the filter form shows.
 * A filter looks at the whole corpus, not just this page: it reads compact
 * per-month card files (cards/YYYY-MM.json, listed in cards/index.json) on
 * demand, oldest month first, and stops after a screenful of matches until
 * "显示更多" asks for more. The filter lives in the URL (?outlet=&tag=&from=&to=),
 * so a filtered view can be shared and is restored on load.
 */
(function () {
  "use strict";
  var doc = document;

  // -- fold months -------------------------------------------------------------
  doc.querySelectorAll(".month-head").forEach(function (head) {
    var section = head.parentNode;
    var list = section.querySelector("ol.timeline");
    var title = head.querySelector(".month-title");
    if (!list || !title) return;
    var button = doc.createElement("button");
    button.type = "button";
    button.className = "fold";
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-controls", list.id);
    var word = doc.createElement("span");
    word.textContent = "收起";
    var hidden = doc.createElement("span");
    hidden.className = "vh";
    hidden.textContent = title.textContent;
    button.append(word, hidden);
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", String(!open));
      list.hidden = open;
      word.textContent = open ? "展开" : "收起";
    });
    head.appendChild(button);
  });

  // -- filters -------------------------------------------------------------------
  var form = doc.getElementById("filters");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var results = doc.getElementById("filter-results");
  var resultsList = results.querySelector(".results-list");
  var more = results.querySelector(".more");
  var unfiltered = doc.getElementById("unfiltered");
  var status = form.querySelector(".filter-status");
  var tagSelect = doc.getElementById("f-tag");
  var chosenList = form.querySelector(".chosen-tags");
  var base = doc.documentElement.getAttribute("data-base") || "/";
  var cardsBase = form.getAttribute("data-cards");
  var PAGE = 50;

  var outletNames = {};
  form.querySelectorAll("input[name=outlet]").forEach(function (box) {
    outletNames[box.value] = box.parentNode.textContent.trim();
  });
  var tagNames = {};
  tagSelect.querySelectorAll("option").forEach(function (o) {
    if (o.value) tagNames[o.value] = o.textContent;
  });
  var chosen = [];
  form.hidden = false;

  function readState() {
    return {
      outlets: Array.prototype.map.call(form.querySelectorAll("input[name=outlet]:checked"),
        function (b) { return b.value; }),
      tags: chosen.slice(),
      from: form.elements.from.value,
      to: form.elements.to.value
    };
  }

  function isActive(s) {
    return s.outlets.length || s.tags.length || s.from || s.to;
  }

  function writeUrl(s) {
    var params = new URLSearchParams();
    s.outlets.forEach(function (o) { params.append("outlet", o); });
    s.tags.forEach(function (t) { params.append("tag", t); });
    if (s.from) params.set("from", s.from);
    if (s.to) params.set("to", s.to);
    var query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : "") + location.hash);
  }

  function loadFromUrl() {
    var params = new URLSearchParams(location.search);
    var outlets = params.getAll("outlet");
    form.querySelectorAll("input[name=outlet]").forEach(function (b) {
      b.checked = outlets.indexOf(b.value) >= 0;
    });
    chosen = params.getAll("tag").filter(function (t) { return tagNames[t]; });
    var day = /^\d{4}-\d{2}-\d{2}$/;
    form.elements.from.value = day.test(params.get("from") || "") ? params.get("from") : "";
    form.elements.to.value = day.test(params.get("to") || "") ? params.get("to") : "";
    drawChosen();
  }

  function drawChosen() {
    chosenList.textContent = "";
    chosen.forEach(function (slug) {
      var li = doc.createElement("li");
      var b = doc.createElement("button");
      b.type = "button";
      b.className = "chip";
      b.setAttribute("aria-label", "移除标签 " + tagNames[slug]);
      b.textContent = tagNames[slug] + " ×";
      b.addEventListener("click", function () {
        chosen = chosen.filter(function (t) { return t !== slug; });
        drawChosen();
        changed();
        tagSelect.focus();
      });
      li.appendChild(b);
      chosenList.appendChild(li);
    });
  }

  // -- card files --------------------------------------------------------------
  var indexPromise = null;
  var monthCache = {};
  function getIndex() {
    if (!indexPromise) {
      indexPromise = fetch(cardsBase + "index.json").then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      });
    }
    return indexPromise;
  }
  function getMonth(name) {
    if (!monthCache[name]) {
      monthCache[name] = fetch(cardsBase + name + ".json").then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      });
    }
    return monthCache[name];
  }

  function matches(row, s) {
    // row: [slug, local ISO datetime, outlet, title, summary, [tags]]
    var day = row[1].slice(0, 10);
    if (s.from && day < s.from) return false;
    if (s.to && day > s.to) return false;
    if (s.outlets.length && s.outlets.indexOf(row[2]) < 0) return false;
    for (var i = 0; i < s.tags.length; i++) {
      if (row[5].indexOf(s.tags[i]) < 0) return false;
    }
    return true;
  }

  function el(name, className, text) {
    var node = doc.createElement(name);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function cardFor(row) {
    var li = el("li", "card");
    li.setAttribute("data-outlet", row[2]);
    var meta = el("div", "card-meta");
    var time = el("time", null, +row[1].slice(0, 4) + "年" + +row[1].slice(5, 7) + "月" +
      +row[1].slice(8, 10) + "日");
    time.setAttribute("datetime", row[1]);
    var badge = el("a", "badge badge-" + row[2], outletNames[row[2]] || row[2]);
    badge.href = base + "outlets/" + row[2] + "/";
    meta.append(time, badge);
    var h = el("h4", "card-title");
    var link = el("a", null, row[3]);
    link.href = base + "articles/" + row[0] + "/";
    h.appendChild(link);
    li.append(meta, h, el("p", "card-summary", row[4]));
    var tags = row[5].filter(function (t) { return tagNames[t]; }).slice(0, 6);
    if (tags.length) {
      var ul = el("ul", "tag-list");
      ul.setAttribute("aria-label", "标签");
      tags.forEach(function (t) {
        var a = el("a", null, tagNames[t]);
        a.href = base + "tags/" + t + "/";
        var item = el("li");
        item.appendChild(a);
        ul.appendChild(item);
      });
      li.appendChild(ul);
    }
    return li;
  }

  // -- running a filter --------------------------------------------------------
  var run = 0;        // increases with every change; stale work stops
  var queue = [];     // month names still to read for the current filter
  var found = 0;
  var lastMonthList = null;

  function monthLabel(name) {
    return +name.slice(0, 4) + "年" + +name.slice(5, 7) + "月";
  }

  function addToMonth(name, rows) {
    if (!lastMonthList || lastMonthList.getAttribute("data-month") !== name) {
      var section = el("section", "month");
      var h = el("h3", "month-title");
      var a = el("a", null, monthLabel(name));
      a.href = base + name.slice(0, 4) + "/" + name.slice(5, 7) + "/";
      h.appendChild(a);
      lastMonthList = el("ol", "timeline");
      lastMonthList.setAttribute("data-month", name);
      section.append(h, lastMonthList);
      resultsList.appendChild(section);
    }
    rows.forEach(function (row) { lastMonthList.appendChild(cardFor(row)); });
  }

  function say(text) { status.textContent = text; }

  function fill(id, s) {
    // Read months until PAGE more matches are shown or the months run out.
    var target = found + PAGE;
    more.hidden = true;
    function step() {
      if (id !== run) return;
      if (!queue.length) {
        say(found ? "共找到 " + found + " 篇报道。" : "没有符合条件的报道。");
        return;
      }
      if (found >= target) {
        more.hidden = false;
        say("已显示 " + found + " 篇（读到 " + monthLabel(queue[0]) + " 之前）。");
        return;
      }
      var name = queue.shift();
      say("正在查找…（" + monthLabel(name) + "）");
      getMonth(name).then(function (rows) {
        if (id !== run) return;
        var hits = rows.filter(function (r) { return matches(r, s); });
        if (hits.length) addToMonth(name, hits);
        found += hits.length;
        step();
      }, function () {
        if (id === run) say("无法读取 " + monthLabel(name) + " 的数据，请稍后再试。");
      });
    }
    step();
  }

  function apply() {
    var s = readState();
    var id = ++run;
    resultsList.textContent = "";
    lastMonthList = null;
    found = 0;
    if (!isActive(s)) {
      results.hidden = true;
      unfiltered.hidden = false;
      more.hidden = true;
      say("");
      return;
    }
    unfiltered.hidden = true;
    results.hidden = false;
    say("正在查找…");
    getIndex().then(function (index) {
      if (id !== run) return;
      var fromMonth = s.from ? s.from.slice(0, 7) : "";
      var toMonth = s.to ? s.to.slice(0, 7) : "9999-99";
      queue = index.months.map(function (m) { return m[0]; }).filter(function (name) {
        return name >= fromMonth && name <= toMonth;
      });
      fill(id, s);
    }, function () {
      if (id === run) say("无法读取筛选数据，请稍后再试。");
    });
  }

  function changed() {
    var s = readState();
    writeUrl(s);
    apply();
  }

  tagSelect.addEventListener("change", function () {
    var slug = tagSelect.value;
    if (slug && chosen.indexOf(slug) < 0) chosen.push(slug);
    tagSelect.value = "";
    drawChosen();
    changed();
  });
  form.addEventListener("change", function (event) {
    if (event.target !== tagSelect) changed();
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); changed(); });
  form.addEventListener("reset", function () {
    chosen = [];
    setTimeout(function () { drawChosen(); changed(); }, 0);
  });
  more.addEventListener("click", function () { fill(run, readState()); });

  loadFromUrl();
  if (isActive(readState())) apply();
})();
