// The conversation as a tree: every message names its parent, a user message may have several
// versions (edits) and an answer several siblings (regenerations). One branch is shown at a
// time: the path from the root to the current leaf. Pure functions over the message list; the
// backend walks the tree by the same rules (chat/conversations/tree.py), and both check them
// against shared/conversation-tree.vectors.json.

export interface TreeNode {
  id: string;
  parentId: string | null;
  seq: number;
}

/** The messages that answer `parentId` (null: the first messages), oldest first. */
export function childrenOf<T extends TreeNode>(messages: readonly T[], parentId: string | null): T[] {
  return messages.filter((message) => message.parentId === parentId).sort((a, b) => a.seq - b.seq);
}

/** The message and its other versions (same parent), oldest first. */
export function siblingsOf<T extends TreeNode>(messages: readonly T[], message: T): T[] {
  return childrenOf(messages, message.parentId);
}

/** The newest message of all: where a conversation's branch was last written. */
export function newestMessage<T extends TreeNode>(messages: readonly T[]): T | null {
  let newest: T | null = null;
  for (const message of messages) if (!newest || message.seq > newest.seq) newest = message;
  return newest;
}

/** The leaf reached from `id` by following the newest reply at every step. */
export function newestLeafUnder<T extends TreeNode>(messages: readonly T[], id: string): string {
  return branchTo(messages, id).at(-1)?.id ?? id;
}

function newestChild<T extends TreeNode>(messages: readonly T[], parentId: string): T | null {
  return newestMessage(messages.filter((message) => message.parentId === parentId));
}

/**
 * The messages from the root down to `id`, oldest first, siblings left out; [] for an unknown id.
 * A missing parent ends the walk, and so does a parent already on the path (a loop).
 */
export function pathTo<T extends TreeNode>(messages: readonly T[], id: string): T[] {
  const byId = new Map(messages.map((message) => [message.id, message]));
  const path: T[] = [];
  const seen = new Set<string>();
  for (
    let node = byId.get(id);
    node && !seen.has(node.id);
    node = node.parentId ? byId.get(node.parentId) : undefined
  ) {
    seen.add(node.id);
    path.unshift(node);
  }
  return path;
}

/** The message `leafId` if it is one, else the newest message (for a conversation whose leaf is unknown). */
export function currentLeaf<T extends TreeNode>(messages: readonly T[], leafId: string | null | undefined): T | null {
  return (leafId ? messages.find((message) => message.id === leafId) : undefined) ?? newestMessage(messages);
}

/**
 * The branch shown: the path from the root to the current leaf, then on along the newest replies
 * (a leaf chosen before its answer arrived still shows that answer).
 */
export function branchTo<T extends TreeNode>(messages: readonly T[], leafId: string | null | undefined): T[] {
  const leaf = currentLeaf(messages, leafId);
  if (!leaf) return [];
  const path = pathTo(messages, leaf.id);
  const seen = new Set(path.map((message) => message.id));
  for (let node = newestChild(messages, leaf.id); node && !seen.has(node.id); node = newestChild(messages, node.id)) {
    seen.add(node.id);
    path.push(node);
  }
  return path;
}
