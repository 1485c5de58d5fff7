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
  // The theme's words in the page's language (data-messages: the catalogue's messages; plural ones by CLDR
  // category, chosen with the browser's CLDR rules for <html lang>).
  var messages = JSON.parse(form.getAttribute("data-messages") || "{}");
  var plurals;
  try { plurals = new Intl.PluralRules(document.documentElement.lang || "en"); }
  catch (error) { plurals = new Intl.PluralRules("en"); }  // a language tag the browser cannot read
  form.hidden = false;

  function say(key, values) {
    var message = messages[key];
    if (typeof message === "object") message = message[plurals.select(values.count)] || message.other;
    return String(message).replace(/\{([a-z_]+)\}/g, function (whole, name) {
      if (!(name in values)) return whole;
      return typeof values[name] === "number" ? values[name].toLocaleString(plurals.resolvedOptions().locale) : values[name];
    });
  }

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
      ? say("search_results", { count: items.length, query: query })
      : say("search_no_results", { query: query }));
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
