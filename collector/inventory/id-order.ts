import { compareUtf8 } from '../pipeline/utf8-order.ts';

/**
 * Device ids kept in a device list's order by id (SQLite's BINARY order, compareUtf8). The
 * device cache keeps each site's and each customer's devices so, and a text search that matched
 * their names merges those lists into a page (mergeIds): its work grows with the page, not with
 * the matches (bench/device-search.ts).
 */

/** The index of the first id in `ids` that is not before `id` (or, with `past`, not `id` either). */
export function boundOf(ids: readonly string[], id: string, past = false): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareUtf8(ids[mid], id);
    if (c < 0 || (past && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Puts `id` in its place; an id already there stays once. */
export function insertId(ids: string[], id: string): void {
  const at = boundOf(ids, id);
  if (ids[at] !== id) ids.splice(at, 0, id);
}

export function removeId(ids: string[], id: string): void {
  const at = boundOf(ids, id);
  if (ids[at] === id) ids.splice(at, 1);
}

/**
 * The ids of id-ordered lists as one list, each id once, ascending or descending, starting
 * just past `after`: a k-way merge over a heap of the lists' next ids, so n ids cost about
 * n·log k comparisons however long the lists are.
 */
export function* mergeIds(lists: readonly (readonly string[])[], desc: boolean, after?: string): Generator<string> {
  const step = desc ? -1 : 1;
  const at: number[] = [];
  const heap: number[] = [];
  const head = (list: number) => lists[list][at[list]];
  const first = (a: number, b: number) => (desc ? compareUtf8(head(b), head(a)) : compareUtf8(head(a), head(b))) < 0;
  const sink = (from: number) => {
    for (let i = from; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < heap.length && first(heap[l], heap[top])) top = l;
      if (r < heap.length && first(heap[r], heap[top])) top = r;
      if (top === i) return;
      [heap[i], heap[top]] = [heap[top], heap[i]];
      i = top;
    }
  };
  for (let list = 0; list < lists.length; list++) {
    const ids = lists[list];
    let start = desc ? ids.length - 1 : 0;
    if (after !== undefined) start = desc ? boundOf(ids, after) - 1 : boundOf(ids, after, true);
    at.push(start);
    if (start >= 0 && start < ids.length) heap.push(list);
  }
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) sink(i);
  let last: string | undefined;
  while (heap.length > 0) {
    const list = heap[0];
    const id = head(list);
    // A device at a matching site of a matching customer is in two lists: equal ids come out together.
    if (id !== last) yield (last = id);
    at[list] += step;
    if (at[list] < 0 || at[list] >= lists[list].length) {
      const tail = heap.pop()!;
      if (heap.length > 0) heap[0] = tail;
    }
    sink(0);
  }
}
