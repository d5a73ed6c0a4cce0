// The graph graphOf returns, drawn as SVG with a layered layout of our own:
//   layer(v) = 0 for a node without inputs, else 1 + the largest layer of its inputs (the nodes
//   come in topological order, so one pass in id order fixes every layer);
//   within a layer, nodes are ordered by the mean position of their inputs (the barycentre
//   heuristic), swept down once and then up once by their consumers, which removes most
//   crossings on expression graphs; layers are columns from left (leaves) to right (output).
import { fmt, s } from "./ui.js";

export function layout(graph) {
  const n = graph.nodes.length;
  const ins = Array.from({ length: n }, () => []), outs = Array.from({ length: n }, () => []);
  for (const e of graph.edges) {
    ins[e.to].push(e.from);
    outs[e.from].push(e.to);
  }
  const layer = new Array(n).fill(0);
  for (let v = 0; v < n; v++) for (const u of ins[v]) layer[v] = Math.max(layer[v], layer[u] + 1);
  const depth = Math.max(0, ...layer) + 1;
  const columns = Array.from({ length: depth }, () => []);
  for (let v = 0; v < n; v++) columns[layer[v]].push(v);
  const pos = new Array(n).fill(0);
  const place = () => columns.forEach((col) => col.forEach((v, i) => (pos[v] = i - (col.length - 1) / 2)));
  place();
  const sweep = (cols, neighbours) => {
    for (const col of cols) {
      const key = (v) => (neighbours[v].length ? neighbours[v].reduce((a, u) => a + pos[u], 0) / neighbours[v].length : pos[v]);
      col.sort((a, b) => key(a) - key(b) || a - b);
      col.forEach((v, i) => (pos[v] = i - (col.length - 1) / 2));
    }
  };
  sweep(columns.slice(1), ins);
  sweep(columns.slice(0, -1).reverse(), outs);
  return { layer, pos, depth, height: Math.max(...columns.map((c) => c.length)) };
}

/** An <svg> of the graph: leaves as boxes, ops as rounded boxes, value and gradient in each. */
export function drawGraph(graph, { colWidth = 170, rowHeight = 78, highlight = new Set() } = {}) {
  const { layer, pos, depth, height } = layout(graph);
  const W = depth * colWidth + 20, H = height * rowHeight + 20;
  const X = (v) => 10 + layer[v] * colWidth + 10, Y = (v) => H / 2 + pos[v] * rowHeight;
  const bw = 120, bh = 56;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", class: "graph" });
  svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    s("path", { d: "M0,0L10,5L0,10z", fill: "#8a93a6" }))));
  const fanIn = new Map();
  for (const e of graph.edges) fanIn.set(e.to, (fanIn.get(e.to) ?? 0) + 1);
  for (const e of graph.edges) {
    const x1 = X(e.from) + bw, y1 = Y(e.from), x2 = X(e.to), y2 = Y(e.to) + (fanIn.get(e.to) > 1 ? (e.arg - 0.5) * 16 : 0);
    const mx = (x1 + x2) / 2;
    svg.append(s("path", { d: `M${x1},${y1}C${mx},${y1} ${mx},${y2} ${x2},${y2}`, fill: "none", stroke: "#8a93a6", "stroke-width": 1.5, "marker-end": "url(#arrow)", class: "edge" }));
  }
  const few = (vs) => vs.slice(0, 3).map(fmt).join(", ") + (vs.length > 3 ? ", …" : "");
  for (const v of graph.nodes) {
    const x = X(v.id), y = Y(v.id) - bh / 2;
    const leaf = v.op === "leaf";
    const title = v.name ? (leaf ? v.name : `${v.name} = ${v.op}`) : v.op;
    const g = s("g", { class: "node", "data-id": v.id });
    g.append(s("rect", { x, y, width: bw, height: bh, rx: leaf ? 2 : 12, fill: highlight.has(v.id) ? "#fff3e0" : leaf ? "#eef3ff" : "#ffffff", stroke: leaf ? "#2458c6" : "#5b6475" }));
    g.append(s("text", { x: x + bw / 2, y: y + 15, "text-anchor": "middle", "font-size": 12, "font-weight": 600 }, title + (v.shape.length ? ` [${v.shape.join("×")}]` : "")));
    g.append(s("text", { x: x + bw / 2, y: y + 32, "text-anchor": "middle", "font-size": 11 }, `value ${few(v.value)}`));
    g.append(s("text", { x: x + bw / 2, y: y + 48, "text-anchor": "middle", "font-size": 11, fill: "#c2410c" }, v.grad ? `grad ${few(v.grad)}` : "grad —"));
    svg.append(g);
  }
  return svg;
}
