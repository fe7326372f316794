/* Draws both sides of a comparison with bpmn-js and marks what changed: added (green, new side), removed (red, old
   side), changed (amber, both). The XML and the marks come from the page's data attributes (no inline script). */
(function () {
  "use strict";
  var MARKERS = { added: "cf-diff-added", removed: "cf-diff-removed", changed: "cf-diff-changed" };

  function marksOf(el) {
    try { return JSON.parse(el.getAttribute("data-marks") || "{}"); } catch (e) { return {}; }
  }

  async function draw(el) {
    var marks = marksOf(el);
    var viewer = new BpmnJS({ container: el });
    try {
      await viewer.importXML(el.getAttribute("data-xml"));
    } catch (err) {
      window.cfDiagramFailed(el);
      return;
    }
    el.removeAttribute("data-xml");  // the viewer holds it now; keep the DOM light
    var loading = el.querySelector(".diagram-loading");
    if (loading) { loading.remove(); }
    var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry"), marked = [];
    Object.keys(marks).forEach(function (id) {
      if (registry.get(id) && MARKERS[marks[id]]) {
        canvas.addMarker(id, MARKERS[marks[id]]);
        marked.push(id);
      }
    });
    window.cfDiagramControls(el, viewer, marked);
    el.setAttribute("data-marked", String(marked.length));
    el.setAttribute("data-ready", "yes");
    linkSides(el, viewer);
  }

  /* Both sides of one file pan and zoom together, so the same place is in view before and after. */
  var drawn = [];
  function linkSides(el, viewer) {
    var pair = el.closest(".diff-sides");
    var other = drawn.filter(function (d) { return d.pair === pair; })[0];
    drawn.push({ pair: pair, viewer: viewer });
    if (!pair || !other) { return; }
    var a = other.viewer.get("canvas"), b = viewer.get("canvas"), busy = false;
    function follow(from, to) {
      return function () {
        if (busy) { return; }
        busy = true;
        var box = from.viewbox();
        to.viewbox({ x: box.x, y: box.y, width: box.width, height: box.height });
        busy = false;
      };
    }
    var start = a.viewbox();
    b.viewbox({ x: start.x, y: start.y, width: start.width, height: start.height });
    other.viewer.get("eventBus").on("canvas.viewbox.changed", follow(a, b));
    viewer.get("eventBus").on("canvas.viewbox.changed", follow(b, a));
  }

  document.querySelectorAll("[data-diff-diagram]").forEach(draw);
})();
