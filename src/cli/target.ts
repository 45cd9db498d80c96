/** The CLI's view of target syntax: the parsers live in src/model (the library and scan use them too). */
export { parseDuration, parsePort, parseTarget, UsageError } from '../model/target-syntax.js';
