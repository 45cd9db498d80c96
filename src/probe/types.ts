/** The report model lives in src/model/report.ts (below probe/, connector/ and transport/); this keeps old imports working. */
export * from '../model/report.js';
