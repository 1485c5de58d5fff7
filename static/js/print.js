// The whole volume on one page: a display equation wider than the text column is shrunk to fit it (CSS zoom keeps
// KaTeX's layout whole, where wrapping inside it would break its fractions and braces). Paper cannot scroll, and
// a display cut at the page's edge loses terms. Measured again whenever the column can change: print, resize.
(() => {
  const fit = () => {
    for (const display of document.querySelectorAll('.book .katex-display')) {
      display.style.zoom = '';
      const over = display.scrollWidth / display.clientWidth;
      if (over > 1.001) display.style.zoom = String(Math.floor(1000 / over) / 1000);
    }
  };
  fit();
  addEventListener('load', fit);
  addEventListener('resize', fit);
  addEventListener('beforeprint', fit);
  matchMedia('print').addEventListener('change', fit);
})();
