// Full-text search over the Pagefind index built with the site: results show title, series and
// chapter, and an excerpt. Pagefind's bundle is loaded on first use only.
(function () {
  "use strict";
  var form = document.querySelector("form[data-search]");
  if (!form) return;
  var input = form.querySelector("input");
  var panel = document.getElementById("search-results");
  var pagefind = null;
  var latest = 0;
  var timer = null;
  form.hidden = false;

  function load() {
    if (!pagefind) {
      pagefind = import(form.getAttribute("data-search")).then(function (module) {
        return module.options({ baseUrl: form.getAttribute("data-base") }).then(function () { return module; });
      });
    }
    return pagefind;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function show(items, query) {
    panel.textContent = "";
    var status = element("p", "search-status", items.length
      ? items.length + (items.length === 1 ? " result" : " results") + " for \u201c" + query + "\u201d"
      : "No results for \u201c" + query + "\u201d");
    status.setAttribute("role", "status");
    panel.appendChild(status);
    var list = element("ol", "search-list");
    items.forEach(function (item) {
      var entry = element("li", "search-result");
      var link = element("a", null, item.meta.title || item.url);
      link.href = item.url;
      entry.appendChild(link);
      var where = [item.meta.series, item.meta.chapter].filter(Boolean).join(" \u203a ");
      if (where) entry.appendChild(element("span", "search-where", where));
      var excerpt = element("p", "search-excerpt");
      excerpt.innerHTML = item.excerpt; // Pagefind escapes the page text and adds only <mark>
      entry.appendChild(excerpt);
      list.appendChild(entry);
    });
    panel.appendChild(list);
    panel.hidden = false;
  }

  function run() {
    var query = input.value.trim();
    var ticket = ++latest;
    if (!query) {
      panel.hidden = true;
      panel.textContent = "";
      return;
    }
    load()
      .then(function (module) { return module.search(query); })
      .then(function (search) {
        return Promise.all(search.results.slice(0, 8).map(function (r) { return r.data(); }));
      })
      .then(function (items) { if (ticket === latest) show(items, query); });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); run(); });
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 120); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { input.value = ""; run(); }
  });
})();
