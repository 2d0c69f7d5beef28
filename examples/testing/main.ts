// `npm run example testing`: runs the charge route's tests (charge.test.ts), which show
// jetroute/testing: runHandler for the handler alone, and one test run on the in-memory broker
// and on a real nats-server (NATS_URL, else one started for the test).
import "./charge.test.js";
