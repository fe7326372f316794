/* The auditor's diagrams: a loan's path with who performed each step, and a process version's heatmap. */
(function () {
  "use strict";

  function parse(el, name, fallback) {
    try { return JSON.parse(el.getAttribute(name)) || fallback; } catch (e) { return fallback; }
  }

  function node(tag, className, text) {
    var n = document.createElement(tag);
    n.className = className;
    if (text !== undefined) { n.textContent = text; }
    return n;
  }

  function fail(el) {
    el.innerHTML = "";
    el.appendChild(node("p", "alert alert-error", el.getAttribute("data-error")));
  }

  function drawTrace(el, viewer) {
    var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry"), overlays = viewer.get("overlays");
    var done = new Set(parse(el, "data-done", [])), current = parse(el, "data-current", []);
    var performers = parse(el, "data-performers", {});
    done.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "cf-done"); } });
    current.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "cf-current"); } });
    registry.filter(function (e) { return e.type === "bpmn:SequenceFlow"; }).forEach(function (e) {
      var bo = e.businessObject;
      if (bo.sourceRef && bo.targetRef && done.has(bo.sourceRef.id) &&
          (done.has(bo.targetRef.id) || current.indexOf(bo.targetRef.id) >= 0)) {
        canvas.addMarker(e.id, "cf-taken");
      }
    });
    Object.keys(performers).forEach(function (id) {
      if (!registry.get(id)) { return; }
      var box = node("div", "audit-who");
      performers[id].forEach(function (who) { box.appendChild(node("div", "", who)); });
      overlays.add(id, "audit-who", { position: { bottom: -4, left: 0 }, html: box, scale: { min: 0.7 } });
    });
  }

  function drawHeatmap(el, viewer) {
    var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry"), overlays = viewer.get("overlays");
    var steps = parse(el, "data-steps", {}), busiest = Number(el.getAttribute("data-busiest")) || 0;
    var medianLabel = el.getAttribute("data-label-median") || "median";
    Object.keys(steps).forEach(function (id) {
      var s = steps[id], shape = registry.get(id);
      if (!shape) { return; }
      var level = busiest ? Math.max(1, Math.ceil(5 * s.instances / busiest)) : 0;
      var container = shape.type === "bpmn:SubProcess" && shape.children && shape.children.length;
      canvas.addMarker(id, (container ? "heat-outline-" : "heat-") + level);
      if (/Task$|SubProcess$|CallActivity$|EndEvent$/.test(shape.type)) {  // gateways and events: colour only
        overlays.add(id, "heat-count", { position: { top: -10, right: 10 }, scale: { min: 0.8 },
          html: node("span", "heat-badge", String(s.instances)) });
      }
      if (s.median) {
        overlays.add(id, "heat-median", { position: { bottom: -4, left: 0 }, scale: { min: 0.8 },
          html: node("div", "heat-time", medianLabel + " " + s.median) });
      }
    });
  }

  async function draw(el) {
    var viewer = new BpmnJS({ container: el });
    try {
      var response = await fetch(el.getAttribute("data-src"), { credentials: "same-origin" });
      if (!response.ok) { throw new Error(response.status); }
      await viewer.importXML(await response.text());
    } catch (err) {
      fail(el);
      return;
    }
    var loading = el.querySelector(".diagram-loading");
    if (loading) { loading.remove(); }
    if (el.getAttribute("data-audit-diagram") === "heatmap") { drawHeatmap(el, viewer); } else { drawTrace(el, viewer); }
    window.cfDiagramControls(el, viewer, []);
    el.setAttribute("data-ready", "yes");
  }

  document.querySelectorAll("[data-audit-diagram]").forEach(draw);
})();
