export { fromCoreMsg, fromJsMsg } from "./message.js";
