/* Draws each process instance's BPMN with bpmn-js and marks what was done, what is current and the path taken. */
(function () {
  "use strict";

  function parse(el, name) {
    try { return JSON.parse(el.getAttribute(name) || "[]"); } catch (e) { return []; }
  }

  async function draw(el) {
    var done = parse(el, "data-done"), current = parse(el, "data-current"), failed = parse(el, "data-failed"), flows = new Set(parse(el, "data-flows"));
    var viewer = new BpmnJS({ container: el });
    try {
      var response = await fetch(el.getAttribute("data-src"), { credentials: "same-origin" });
      if (!response.ok) { throw new Error(response.status); }
      await viewer.importXML(await response.text());
    } catch (err) {
      window.cfDiagramFailed(el);
      return;
    }
    var loading = el.querySelector(".diagram-loading");
    if (loading) { loading.remove(); }
    var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
    done.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "cf-done"); } });
    current.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "cf-current"); } });
    failed.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "cf-failed"); } });
    registry.filter(function (e) { return e.type === "bpmn:SequenceFlow"; }).forEach(function (e) {
      var bo = e.businessObject;
      if (bo.sourceRef && bo.targetRef && flows.has(bo.sourceRef.id + ">" + bo.targetRef.id)) {
        canvas.addMarker(e.id, "cf-taken");
      }
    });
    window.cfDiagramControls(el, viewer, current.concat(failed));
    el.setAttribute("data-ready", "yes");
  }

  document.querySelectorAll("[data-diagram]").forEach(draw);
})();
