// Render Graphviz DOT (stdin) to SVG (stdout) with Graphviz compiled to WebAssembly: no system `dot` needed.
// argv[2] is a JSON list of {name, width, height} for the images that nodes reference.
import { instance } from "@viz-js/viz";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const viz = await instance();
const images = JSON.parse(process.argv[2] ?? "[]");
process.stdout.write(viz.renderString(Buffer.concat(chunks).toString("utf8"), { format: "svg", images }));
