/* The search page: Pagefind over the article bodies, with outlet and tag filters.
 *
 * The query and filters live in the URL (?q=&outlet=&tag=), so a search can be
 * shared; the form also works as a plain GET form. Pagefind's files sit in
 * <base>/pagefind/ (and, on a big site, more shards in <base>/pagefind-1/ …),
 * and result URLs get the site's sub-path through `baseUrl`.
 */
(function () {
  "use strict";
  var doc = document;
  var form = doc.getElementById("search-form");
  if (!form || form.getAttribute("data-enabled") !== "yes") return;
  var input = doc.getElementById("q");
  var status = doc.getElementById("search-status");
  var list = doc.getElementById("search-results");
  var more = doc.getElementById("search-more");
  var filterBox = form.querySelector(".search-filters");
  var outletBox = form.querySelector(".sf-outlets");
  var tagSelect = doc.getElementById("sf-tag");
  var chosenList = form.querySelector(".chosen-tags");
  var base = doc.documentElement.getAttribute("data-base") || "/";
  var SHOWN = 20;

  var params = new URLSearchParams(location.search);
  input.value = params.get("q") || "";
  var outlets = params.getAll("outlet");
  var tags = params.getAll("tag");

  var pagefind = null;
  var results = [];
  var shown = 0;
  var run = 0;

  function say(text) { status.textContent = text; }

  function el(name, className, text) {
    var node = doc.createElement(name);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function writeUrl() {
    var p = new URLSearchParams();
    if (input.value.trim()) p.set("q", input.value.trim());
    outlets.forEach(function (o) { p.append("outlet", o); });
    tags.forEach(function (t) { p.append("tag", t); });
    var query = p.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }

  function drawFilters(available) {
    var outletCounts = available.outlet || {};
    Object.keys(outletCounts).sort().forEach(function (name) {
      var label = el("label");
      var box = el("input");
      box.type = "checkbox";
      box.name = "outlet";
      box.value = name;
      box.checked = outlets.indexOf(name) >= 0;
      label.append(box, " " + name + " ", el("span", "count", "(" + outletCounts[name] + ")"));
      outletBox.appendChild(label);
    });
    var tagCounts = available.tag || {};
    Object.keys(tagCounts).sort(function (a, b) {
      return tagCounts[b] - tagCounts[a] || (a < b ? -1 : 1);
    }).forEach(function (name) {
      var option = el("option", null, name + "（" + tagCounts[name] + "）");
      option.value = name;
      tagSelect.appendChild(option);
    });
    tags = tags.filter(function (t) { return tagCounts[t]; });
    drawChosen();
    filterBox.hidden = false;
  }

  function drawChosen() {
    chosenList.textContent = "";
    tags.forEach(function (name) {
      var li = el("li");
      var b = el("button", "chip", name + " ×");
      b.type = "button";
      b.setAttribute("aria-label", "移除标签 " + name);
      b.addEventListener("click", function () {
        tags = tags.filter(function (t) { return t !== name; });
        drawChosen();
        search();
        tagSelect.focus();
      });
      li.appendChild(b);
      chosenList.appendChild(li);
    });
  }

  function filters() {
    var f = {};
    if (outlets.length) f.outlet = { any: outlets.slice() };
    if (tags.length) f.tag = { all: tags.slice() };
    return f;
  }

  function showMore(id) {
    var batch = results.slice(shown, shown + SHOWN);
    shown += batch.length;
    more.hidden = true;
    return Promise.all(batch.map(function (r) { return r.data(); })).then(function (items) {
      if (id !== run) return;
      items.forEach(function (data) {
        var li = el("li", "result");
        var h = el("h2", "result-title");
        var a = el("a", null, (data.meta && data.meta.title) || data.url);
        a.href = data.url;
        h.appendChild(a);
        var meta = el("p", "result-meta");
        if (data.meta && data.meta.date) meta.appendChild(el("span", null, data.meta.date));
        if (data.meta && data.meta.outlet) meta.appendChild(el("span", "badge", data.meta.outlet));
        var excerpt = el("p", "result-excerpt");
        excerpt.innerHTML = data.excerpt; // Pagefind escapes the text and adds <mark>
        li.append(h, meta, excerpt);
        list.appendChild(li);
      });
      more.hidden = shown >= results.length;
    });
  }

  function search() {
    writeUrl();
    var id = ++run;
    var query = input.value.trim();
    list.textContent = "";
    more.hidden = true;
    shown = 0;
    var f = filters();
    if (!query && !Object.keys(f).length) {
      say("输入词语搜索报道正文，例如“谈判”。");
      return Promise.resolve();
    }
    say("正在搜索…");
    return pagefind.search(query || null, { filters: f }).then(function (response) {
      if (id !== run) return;
      results = response.results;
      say(results.length ? "找到 " + results.length + " 篇报道" +
        (query ? "包含“" + query + "”" : "") + "。" : "没有找到相关报道。");
      return showMore(id);
    });
  }

  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); search(); });
  form.addEventListener("change", function (event) {
    if (event.target === tagSelect) {
      if (tagSelect.value && tags.indexOf(tagSelect.value) < 0) tags.push(tagSelect.value);
      tagSelect.value = "";
      drawChosen();
    } else if (event.target.name === "outlet") {
      outlets = Array.prototype.map.call(outletBox.querySelectorAll("input:checked"),
        function (b) { return b.value; });
    } else {
      return;
    }
    search();
  });
  more.addEventListener("click", function () { showMore(run); });

  // A big site's index is split into shards (generator/search.py):
  // pagefind/shards.json lists their folders; Pagefind merges the others into
  // the one in pagefind/, summing results and filter counts over all of them.
  // No list (an older build, the preview's index): pagefind/ alone.
  function shardFolders() {
    return fetch(base + "pagefind/shards.json").then(function (response) {
      return response.ok ? response.json() : {};
    }).then(function (listed) {
      var folders = (listed && listed.indexes) || [];
      return folders.filter(function (folder) {
        return /^pagefind-\d+\/$/.test(folder);
      });
    }, function () { return []; });
  }

  // Options a merged index does not take from the first one's options().
  var indexOptions = { baseUrl: base, excerptLength: 40 };

  say("正在载入搜索索引…");
  Promise.all([import(base + "pagefind/pagefind.js"), shardFolders()]).then(function (loaded) {
    pagefind = loaded[0];
    return pagefind.options(indexOptions).then(function () {
      return Promise.all(loaded[1].map(function (folder) {
        return pagefind.mergeIndex(base + folder, indexOptions);
      }));
    });
  }).then(function () {
    return pagefind.filters();
  }).then(function (available) {
    drawFilters(available);
    form.setAttribute("data-ready", "yes");
    return search();
  }).catch(function () {
    say("搜索索引无法载入。可以按月份或标签浏览报道。");
  });
})();
