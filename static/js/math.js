// Typesets every .math element with KaTeX: the build emitted the TeX as the element's text.
(function () {
  "use strict";
  var macros = {};
  var script = document.currentScript;
  if (script && script.dataset.macros) {
    try { macros = JSON.parse(script.dataset.macros); } catch (e) { macros = {}; }
  }
  var elements = document.querySelectorAll(".math");
  for (var i = 0; i < elements.length; i++) {
    var element = elements[i];
    var tex = element.textContent;
    element.setAttribute("data-tex", tex);
    katex.render(tex, element, {
      displayMode: element.classList.contains("display"),
      throwOnError: false,
      macros: macros,
      trust: false
    });
  }
})();
