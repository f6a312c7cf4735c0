import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';

import { describeDecodeErrors } from './codecs.js';

/**
 * A tiny CSV reader for the example's own files: a header line, then one record per line,
 * fields separated by commas. Quoting is not supported — the files hold no commas, quotes or
 * line breaks inside fields — and a field with a double quote is refused rather than misread.
 * Blank lines are skipped; CRLF line ends and a byte-order mark are accepted.
 */

/** What is wrong with one place of a CSV file: `orders.csv:17:quantity: expected …`. */
export interface CsvProblem {
  readonly file: string;
  /** 1-based, as an editor shows it; the header is line 1. */
  readonly line: number;
  /** The column, or null when the whole line is wrong. */
  readonly field: string | null;
  readonly message: string;
}

/** A CSV file that did not decode, with every problem found. */
export interface CsvFailure {
  readonly _tag: 'CsvFailure';
  readonly problems: readonly CsvProblem[];
}

/** One record as text, keyed by the header's column names, with its line number. */
export interface CsvRecord {
  readonly line: number;
  readonly fields: Readonly<Record<string, string>>;
}

/** A decoded record and the line it came from. */
export interface CsvRow<Row> {
  readonly line: number;
  readonly row: Row;
}

/** The thrown form of a {@link CsvFailure}, for callers at the process edge. */
export class CsvError extends Error {
  readonly code = 'CSV_INVALID';
  readonly retryable = false;

  constructor(readonly problems: readonly CsvProblem[]) {
    super(summarizeCsvProblems(problems));
    this.name = 'CsvError';
  }
}

const SHOWN_PROBLEMS = 10;

/** Writes a problem as `file:line:field: message` (or `file:line: message`). */
export function formatCsvProblem(problem: CsvProblem): string {
  const where = problem.field === null ? '' : `${problem.field}:`;
  return `${problem.file}:${problem.line}:${where} ${problem.message}`;
}

/** Writes the first problems one per line, and how many more there are. */
export function summarizeCsvProblems(problems: readonly CsvProblem[]): string {
  const shown = problems.slice(0, SHOWN_PROBLEMS).map(formatCsvProblem);
  const more = problems.length - shown.length;
  return more > 0 ? [...shown, `…and ${more} more`].join('\n') : shown.join('\n');
}

function failWith(problems: readonly CsvProblem[]): E.Either<CsvFailure, never> {
  return E.left({ _tag: 'CsvFailure', problems });
}

interface SplitCsv {
  readonly records: readonly CsvRecord[];
  /** The malformed lines, which are left out of `records`. */
  readonly problems: readonly CsvProblem[];
}

function splitCsv(text: string, file: string): SplitCsv {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = (lines[0] ?? '').split(',');
  if (header.some((name) => name.trim() === '') || new Set(header).size !== header.length) {
    const message = 'expected a header of distinct names';
    return { records: [], problems: [{ file, line: 1, field: null, message }] };
  }

  const problems: CsvProblem[] = [];
  const records: CsvRecord[] = [];
  lines.slice(1).forEach((content, index) => {
    const line = index + 2;
    if (content.trim() === '') return;
    const values = content.split(',');
    if (values.length !== header.length) {
      const message = `expected ${header.length} fields, got ${values.length}`;
      problems.push({ file, line, field: null, message });
      return;
    }
    const quoted = header.filter((_, column) => values[column]?.includes('"'));
    for (const field of quoted) {
      problems.push({ file, line, field, message: 'quoted fields are not supported' });
    }
    if (quoted.length > 0) return;
    records.push({
      line,
      fields: Object.fromEntries(header.map((name, i) => [name, values[i] ?? ''])),
    });
  });
  return { records, problems };
}

/** Splits `text` into records keyed by the header, or says which lines are malformed. */
export function parseCsv(text: string, file: string): E.Either<CsvFailure, readonly CsvRecord[]> {
  const { records, problems } = splitCsv(text, file);
  return problems.length > 0 ? failWith(problems) : E.right(records);
}

/**
 * Parses `text` and decodes every record with `codec`, whose fields are the CSV's columns. All
 * problems of the file are reported in line order, each naming file, line and column.
 */
export function decodeCsv<Row>(
  text: string,
  file: string,
  codec: t.Decoder<unknown, Row>,
): E.Either<CsvFailure, readonly CsvRow<Row>[]> {
  const split = splitCsv(text, file);

  const problems: CsvProblem[] = [...split.problems];
  const rows: CsvRow<Row>[] = [];
  for (const record of split.records) {
    const decoded = codec.decode(record.fields);
    if (E.isRight(decoded)) {
      rows.push({ line: record.line, row: decoded.right });
      continue;
    }
    for (const problem of describeDecodeErrors(decoded.left)) {
      const field = problem.path === '' ? null : problem.path;
      problems.push({ file, line: record.line, field, message: problem.message });
    }
  }
  if (problems.length > 0) return failWith(problems.sort((a, b) => a.line - b.line));
  return E.right(rows);
}
