/** Kept for old imports: the transcript line type lives with the sequence that emits it. */
export type { TranscriptEntry } from '../connector/sequence.js';
export { alertName } from './exchange.js';
