// A not-found page (HTTP 404 from the server): only the shared header works here.
import { boot } from "../app.js";

await boot();
