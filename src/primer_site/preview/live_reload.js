// primer-site live reload: added by `primer-site serve` to the pages it serves, never to `primer-site build` output.
// It follows the preview's build reports (server-sent events): after a rebuild it reloads the page, keeping the
// scroll position; after a CSS-only rebuild it swaps the stylesheets in place; after a failed rebuild it shows the
// errors over the last good page, and reloads once they are fixed.
(() => {
  "use strict";
  const script = document.currentScript;
  const OVERLAY_ID = "primer-site-error-overlay";
  const scrollKey = "primer-site:scroll:" + location.pathname;
  let epoch = Number(script.dataset.epoch); // the build this page came from
  let failed = false; // an overlay was shown: the fix reloads whatever it changed

  restoreScroll();

  const events = new EventSource(script.dataset.events);
  events.addEventListener("open", () => { script.dataset.state = "open"; });
  events.addEventListener("error", () => { script.dataset.state = "reconnecting"; }); // EventSource retries itself
  events.addEventListener("build", (event) => {
    const state = JSON.parse(event.data);
    if (state.diagnostics.length) {
      failed = true;
      showOverlay(state.diagnostics, state.epoch === 0);
      return;
    }
    removeOverlay();
    if (state.epoch === epoch && !failed) return;
    if (!failed && state.change === "css" && state.epoch === epoch + 1) {
      swapStylesheets(state.epoch);
      epoch = state.epoch;
      return;
    }
    reload();
  });
  addEventListener("pagehide", () => events.close());

  function reload() {
    try {
      sessionStorage.setItem(scrollKey, JSON.stringify([scrollX, scrollY]));
    } catch (_) { /* storage off: reload at the top */ }
    location.reload();
  }

  function restoreScroll() {
    let saved = null;
    try {
      saved = sessionStorage.getItem(scrollKey);
      sessionStorage.removeItem(scrollKey);
    } catch (_) { return; }
    if (!saved) return;
    const [x, y] = JSON.parse(saved);
    const apply = () => scrollTo(x, y);
    if (document.readyState === "complete") apply();
    else addEventListener("load", apply, { once: true });
  }

  // The build may rename a stylesheet (a content hash in its name), so the new names are read from the page's
  // HTML as it is now; a stylesheet whose name stayed is fetched again past the cache.
  async function swapStylesheets(version) {
    const current = sameOriginStylesheets(document);
    let fresh;
    try {
      const response = await fetch(location.href, { cache: "no-store" });
      if (!response.ok) throw new Error(response.statusText);
      fresh = sameOriginStylesheets(new DOMParser().parseFromString(await response.text(), "text/html"));
    } catch (_) {
      reload();
      return;
    }
    if (fresh.length !== current.length) {
      reload(); // stylesheets were added or removed: the page itself changed
      return;
    }
    current.forEach((link, index) => {
      const url = new URL(fresh[index].getAttribute("href"), location.href);
      if (url.pathname === new URL(link.href).pathname) url.searchParams.set("primer-reload", version);
      const replacement = link.cloneNode();
      replacement.removeAttribute("integrity"); // a hash of the old bytes
      replacement.href = url.href;
      // the old sheet goes once the new one applies, so the page never shows unstyled
      const retire = () => link.remove();
      replacement.addEventListener("load", retire, { once: true });
      replacement.addEventListener("error", retire, { once: true });
      link.after(replacement);
    });
  }

  function sameOriginStylesheets(doc) {
    return [...doc.querySelectorAll('link[rel="stylesheet"]')].filter(
      (link) => new URL(link.getAttribute("href"), location.href).origin === location.origin);
  }

  function removeOverlay() {
    const old = document.getElementById(OVERLAY_ID);
    if (old) old.remove();
  }

  function element(tag, style, text) {
    const node = document.createElement(tag);
    node.style.cssText = "all: initial; display: block; box-sizing: border-box; color: inherit; font: inherit; " + style;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showOverlay(diagnostics, neverBuilt) {
    removeOverlay();
    const box = element("div",
      "position: fixed; inset: 0; z-index: 2147483647; overflow: auto; padding: 2rem; " +
      "background: rgba(24, 8, 8, 0.94); color: #fff; font: 15px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace;");
    box.id = OVERLAY_ID;
    box.setAttribute("role", "alert");
    box.append(element("h2", "font-size: 1.3em; font-weight: bold; color: #ff8a80; margin: 0 0 0.5rem;",
      neverBuilt ? "primer-site: there is no good build of the site yet" : "primer-site: the rebuild failed"));
    box.append(element("p", "margin: 0 0 1.5rem; color: #ccc;", neverBuilt
      ? "The first build failed. Fix the problem and save: this page reloads by itself."
      : "The page underneath is the last good build. Fix the problem and save: this page reloads by itself."));
    const list = element("ol", "margin: 0; padding: 0;");
    for (const d of diagnostics) {
      const item = element("li", "margin: 0 0 1rem; white-space: pre-wrap;");
      const where = (d.path || "<site>") + (d.line ? ":" + d.line : "") + (d.line && d.column ? ":" + d.column : "");
      const place = element("span", "display: inline; color: #ffd180; font-weight: bold;", where);
      place.className = "primer-site-error-location";
      const what = element("span", "display: inline;", " " + d.severity + ": " + d.message);
      what.className = "primer-site-error-message";
      item.append(place, what);
      list.append(item);
    }
    box.append(list);
    const close = element("button",
      "position: absolute; top: 1rem; right: 1rem; cursor: pointer; font-size: 1.5rem; color: #fff;", "×");
    close.setAttribute("aria-label", "Hide the errors");
    close.addEventListener("click", removeOverlay);
    box.append(close);
    document.body.append(box);
  }
})();
