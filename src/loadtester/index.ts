/** Vireo's flagger-loadtester-compatible service and its built-in HTTP load generator. */
export { type HeyParse, parseHey, shellWords } from './hey.js';
export { formatLoadReport, type LoadOptions, type LoadReport, runLoad } from './load.js';
export { decodePayload, type Loadtester, type LoadtesterOptions, startLoadtester } from './server.js';
