// Zoom (wheel, around the pointer) and pan (drag the background) of the graph, and fit-to-view.
export function zoomable(svg, viewport) {
  const view = { x: 20, y: 20, k: 1 };
  const apply = () => viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const rect = svg.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const factor = Math.exp(-event.deltaY * 0.0015);
    const k = Math.min(4, Math.max(0.1, view.k * factor));
    view.x = px - ((px - view.x) * k) / view.k;
    view.y = py - ((py - view.y) * k) / view.k;
    view.k = k;
    apply();
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (event) => {
    if (event.target !== svg || event.button !== 0) return;
    drag = { x: event.clientX - view.x, y: event.clientY - view.y };
    svg.classList.add("panning");
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointermove", (event) => {
    if (!drag) return;
    view.x = event.clientX - drag.x;
    view.y = event.clientY - drag.y;
    apply();
  });
  const end = () => { drag = null; svg.classList.remove("panning"); };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  return {
    fit(width, height) {
      const rect = svg.getBoundingClientRect();
      const k = Math.min(1.2, (rect.width - 40) / Math.max(width, 1), (rect.height - 40) / Math.max(height, 1));
      view.k = Math.max(0.1, k);
      view.x = (rect.width - width * view.k) / 2;
      view.y = (rect.height - height * view.k) / 2;
      apply();
    },
    // Screen coordinates to graph coordinates (for the wire drawn while connecting ports).
    toGraph(clientX, clientY) {
      const rect = svg.getBoundingClientRect();
      return { x: (clientX - rect.left - view.x) / view.k, y: (clientY - rect.top - view.y) / view.k };
    },
  };
}
