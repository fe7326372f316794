/* Zoom and fit buttons for every diagram (bpmn-js navigated viewer); labels come from the page, in its language.
   A diagram too wide for its card opens readable (at least 80%) on the current step instead of shrunk to fit. */
(function () {
  "use strict";
  var READABLE = 0.8;

  function button(label, text, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button button-small diagram-button";
    b.textContent = text;
    b.title = label;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", action);
    return b;
  }

  function focusOn(viewer, ids) {
    var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport", "auto");
    if (canvas.zoom() >= READABLE) { return; }
    var target = null;
    ids.some(function (id) { target = registry.get(id) || null; return target !== null; });
    if (!target) { target = registry.filter(function (e) { return e.type === "bpmn:StartEvent"; })[0] || null; }
    var center = target ? { x: target.x + (target.width || 0) / 2, y: target.y + (target.height || 0) / 2 } : "auto";
    canvas.zoom(READABLE, center);
    if (target && typeof canvas.scrollToElement === "function") { canvas.scrollToElement(target); }
  }

  /* A diagram that could not be drawn says so in its place (the sentence comes from data-error). */
  window.cfDiagramFailed = function (el) {
    el.innerHTML = "";
    var p = document.createElement("p");
    p.className = "alert alert-error";
    p.textContent = el.getAttribute("data-error");
    el.appendChild(p);
  };

  window.cfDiagramControls = function (el, viewer, focusIds) {
    var canvas = viewer.get("canvas");
    var bar = document.createElement("div");
    bar.className = "diagram-controls";
    bar.setAttribute("role", "toolbar");
    var step = function (factor) { return function () { canvas.zoom(Math.max(0.2, Math.min(4, canvas.zoom() * factor)), "auto"); }; };
    bar.appendChild(button(el.getAttribute("data-label-zoom-in") || "+", "+", step(1.25)));
    bar.appendChild(button(el.getAttribute("data-label-zoom-out") || "-", "−", step(0.8)));
    bar.appendChild(button(el.getAttribute("data-label-fit") || "fit", el.getAttribute("data-label-fit") || "fit",
      function () { canvas.zoom("fit-viewport", "auto"); }));
    bar.appendChild(button(el.getAttribute("data-label-actual") || "100%", "100%", function () { canvas.zoom(1, "auto"); }));
    el.appendChild(bar);
    focusOn(viewer, focusIds || []);
  };
})();
