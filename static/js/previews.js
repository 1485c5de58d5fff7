// Previews of references: hovering or focusing a link to an equation, figure, table, theorem-like block,
// section or footnote shows what it points at in a popup (role="tooltip"), without leaving the page and
// without a request: an element of this page is read from the page, one of another page from the hidden
// <div class="previews"> the build wrote into this one. Escape closes it. Also: copying a selection that
// holds typeset formulas copies their TeX ($…$, $$…$$) as text.
(function () {
  "use strict";
  var SHOW_DELAY = 120;  // ms: long enough not to flash while the pointer crosses a paragraph
  var HIDE_DELAY = 200;  // ms: time to move the pointer from the link onto the popup
  var PREVIEWED = ".equation, figure, .theorem-like, h2, h3, h4, .footnote-item";
  var body = document.querySelector(".post-body");
  if (!body) { return; }
  var holder = document.querySelector("div.previews");
  var stored = {};
  if (holder) {
    var entries = holder.querySelectorAll("[data-preview]");
    for (var i = 0; i < entries.length; i++) { stored[entries[i].getAttribute("data-preview")] = entries[i]; }
  }
  var popup = null, current = null, showTimer = 0, hideTimer = 0;

  function sameElement(link) {
    var href = link.getAttribute("href") || "";
    if (href.charAt(0) !== "#" || href.length < 2) { return null; }
    var target = document.getElementById(decodeURIComponent(href.slice(1)));
    if (target && target.classList.contains("row-anchor")) { target = target.parentElement; }  // a row of an align
    if (!target || !target.matches(PREVIEWED) || target.contains(link)) { return null; }
    return target;
  }

  function previewOf(link) {
    var target = sameElement(link);
    var copies = [];
    if (target) {
      copies.push(target.cloneNode(true));
      var next = target.nextElementSibling;
      if (/^H[2-4]$/.test(target.tagName) && next && next.tagName === "P") { copies.push(next.cloneNode(true)); }
    } else {
      var entry = stored[link.getAttribute("href")];
      if (!entry) { return null; }
      copies.push(entry.cloneNode(true));
    }
    var box = document.createElement("div");
    for (var j = 0; j < copies.length; j++) { box.appendChild(copies[j]); }
    var drop = box.querySelectorAll(".footnote-backref, a.anchor");
    for (var k = 0; k < drop.length; k++) { drop[k].remove(); }
    // one id per page, and nothing in a tooltip to tab to
    var named = box.querySelectorAll("[id], [tabindex]");
    for (var m = 0; m < named.length; m++) { named[m].removeAttribute("id"); named[m].removeAttribute("tabindex"); }
    typeset(box);
    return box;
  }

  // A copy holds TeX if math.js has not typeset it yet (render: browser); at build time it was typeset with the page.
  function typeset(box) {
    if (typeof katex === "undefined") { return; }
    var pageMacros = {};
    try { pageMacros = JSON.parse(document.body.dataset.macros || "{}"); } catch (e) { pageMacros = {}; }
    var elements = box.querySelectorAll(".math");
    for (var i = 0; i < elements.length; i++) {
      if (elements[i].querySelector(".katex, .katex-error")) { continue; }
      katex.render(elements[i].textContent, elements[i], {
        displayMode: elements[i].classList.contains("display"), throwOnError: false,
        macros: Object.assign({}, pageMacros), trust: false
      });
    }
  }

  function show(link) {
    clearTimeout(hideTimer);
    if (current === link) { return; }
    hide();
    var content = previewOf(link);
    if (!content) { return; }
    popup = document.createElement("div");
    popup.className = "ref-preview";
    popup.id = "ref-preview";
    popup.setAttribute("role", "tooltip");
    popup.appendChild(content);
    popup.addEventListener("mouseenter", function () { clearTimeout(hideTimer); });
    popup.addEventListener("mouseleave", hideSoon);
    // inside the page's main landmark, as all its content is; fixed to the viewport, and gone on scrolling
    (body.closest("main") || document.body).appendChild(popup);
    var place = link.getBoundingClientRect();
    var viewport = document.documentElement;
    var left = Math.max(8, Math.min(place.left, viewport.clientWidth - popup.offsetWidth - 8));
    var below = place.bottom + 6;
    var top = below + popup.offsetHeight > viewport.clientHeight && place.top > popup.offsetHeight + 6
      ? place.top - popup.offsetHeight - 6 : below;
    popup.style.left = left + "px";
    popup.style.top = top + "px";
    link.setAttribute("aria-describedby", "ref-preview");
    current = link;
  }

  function hide() {
    clearTimeout(showTimer);
    if (popup) { popup.remove(); popup = null; }
    if (current) { current.removeAttribute("aria-describedby"); current = null; }
  }

  function hideSoon() {
    clearTimeout(showTimer);
    hideTimer = setTimeout(hide, HIDE_DELAY);
  }

  function linkOf(event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    return link && body.contains(link) ? link : null;
  }

  body.addEventListener("mouseover", function (event) {
    var link = linkOf(event);
    if (!link || link === current) { return; }
    clearTimeout(showTimer);
    showTimer = setTimeout(function () { show(link); }, SHOW_DELAY);
  });
  body.addEventListener("mouseout", function (event) {
    var link = linkOf(event);
    if (link && !link.contains(event.relatedTarget)) { hideSoon(); }
  });
  body.addEventListener("focusin", function (event) {
    var link = linkOf(event);
    if (link) { show(link); }
  });
  body.addEventListener("focusout", function (event) {
    if (linkOf(event)) { hide(); }
  });
  window.addEventListener("scroll", function () { if (popup) { hide(); } }, {passive: true});
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && popup) { hide(); }
  });

  // Copying typeset math: each formula in the selection becomes its TeX, from KaTeX's MathML annotation.
  document.addEventListener("copy", function (event) {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || !event.clipboardData) { return; }
    var range = selection.getRangeAt(0).cloneRange();
    var startMath = closestKatex(range.startContainer), endMath = closestKatex(range.endContainer);
    if (startMath) { range.setStartBefore(startMath); }
    if (endMath) { range.setEndAfter(endMath); }
    var fragment = range.cloneContents();
    var formulas = fragment.querySelectorAll(".katex");
    if (formulas.length === 0) { return; }
    for (var i = 0; i < formulas.length; i++) {
      var annotation = formulas[i].querySelector('annotation[encoding="application/x-tex"]');
      if (!annotation) { continue; }
      var math = formulas[i].querySelector("math");
      var display = math && math.getAttribute("display") === "block";
      var text = display ? "$$" + annotation.textContent + "$$" : "$" + annotation.textContent + "$";
      var holder = formulas[i].parentNode && formulas[i].parentNode.classList &&
        formulas[i].parentNode.classList.contains("katex-display") ? formulas[i].parentNode : formulas[i];
      holder.replaceWith(document.createTextNode(text));
    }
    event.clipboardData.setData("text/plain", fragment.textContent);
    event.preventDefault();
  });

  function closestKatex(node) {
    var element = node.nodeType === 1 ? node : node.parentElement;
    var found = element ? element.closest(".katex") : null;
    if (found && found.parentElement && found.parentElement.classList.contains("katex-display")) {
      return found.parentElement;
    }
    return found;
  }
})();
