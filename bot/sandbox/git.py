"""Real git underneath the sandbox: one bare repository per GitHub repository, driven by the CLI."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_HEX = re.compile(r"^[0-9a-f]{4,40}$")
SHA = re.compile(r"^[0-9a-f]{40}$")
# What git's check-ref-format refuses, plus the revision syntax (`main~1`, `@{u}`) that
# rev-parse would otherwise happily evaluate where GitHub only takes names and shas.
_BAD_REF = re.compile(r"(^[-/.])|([/.]$)|\.\.|//|@\{|[\x00-\x20~^:?*\[\\\x7f]|\.lock(/|$)")
# The regular-file mode; executables and symlinks are not needed yet.
FILE_MODE = "100644"


class GitError(RuntimeError):
    """A git command failed; the message carries the command and what git printed."""


@dataclass(frozen=True)
class Identity:
    """Who wrote or committed a commit, and when (epoch seconds, UTC)."""

    name: str
    email: str
    time: int

    def env(self, role: str) -> dict[str, str]:
        return {
            f"GIT_{role}_NAME": self.name,
            f"GIT_{role}_EMAIL": self.email,
            f"GIT_{role}_DATE": f"{self.time} +0000",
        }


@dataclass(frozen=True)
class CommitInfo:
    """A commit object as git stores it."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Identity
    committer: Identity
    message: str


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a tree: `kind` is "blob", "tree" or "commit" (a submodule)."""

    mode: str
    kind: str
    sha: str
    size: int | None
    path: str


@dataclass(frozen=True)
class MergeResult:
    """What `git merge-tree --write-tree` made: a tree, and the paths that conflicted."""

    tree: str
    conflicts: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.conflicts


@dataclass(frozen=True)
class FileDiff:
    """One file of a diff, as GitHub's `files` lists it."""

    filename: str
    status: str  # added, removed, modified, renamed, copied, changed
    additions: int
    deletions: int
    sha: str
    previous_filename: str | None
    patch: str | None


@dataclass(frozen=True)
class Ref:
    name: str  # fully qualified: refs/heads/main
    sha: str
    kind: str  # the object type: commit, or tag for an annotated tag


@dataclass(frozen=True)
class NewEntry:
    """An entry of a tree to write: `sha` None deletes `path` (and whatever is under it)."""

    path: str
    mode: str
    kind: str
    sha: str | None


@dataclass(frozen=True)
class Changes:
    """Paths a commit added, removed and modified relative to its parent (or to nothing)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    modified: tuple[str, ...]


def valid_ref_name(name: str) -> bool:
    """Whether git would accept `name` (fully qualified) as a ref name."""
    return name.startswith("refs/") and name.count("/") >= 2 and not _BAD_REF.search(name[5:])


def check_path(path: str) -> str:
    """Refuse paths GitHub would refuse (absolute, `..`, empty parts, inside `.git`)."""
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts) or parts[0] == ".git" or "\0" in path:
        raise ValueError(f"not a valid repository path: {path!r}")
    return path


def _parse_identity(value: str) -> Identity:
    # "Name <email> 1700000000 +0000"
    head, _, rest = value.rpartition(">")
    name, _, email = head.partition("<")
    seconds = rest.split()[0]
    return Identity(name=name.strip(), email=email, time=int(seconds))


class GitRepo:
    """A bare repository in `path`; every method runs the `git` CLI.

    Objects are immutable, so parsed commits and blobs are cached in memory by sha; refs
    are always read from git. Commands run with an isolated configuration, so the user's
    or the machine's git settings never change what the sandbox stores.
    """

    def __init__(self, path: Path, git: str, scratch: Path) -> None:
        self.path = path
        self._git_bin = git
        self._scratch = scratch
        self._env = {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "HOME": str(scratch),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_LITERAL_PATHSPECS": "1",
            "LC_ALL": "C",
        }
        self._commits: dict[str, CommitInfo] = {}
        self._blobs: dict[str, bytes] = {}

    @classmethod
    async def init(cls, path: Path, default_branch: str, scratch: Path) -> GitRepo:
        git = shutil.which("git")
        if git is None:
            raise GitError("the sandbox needs the `git` command on PATH")
        repo = cls(path, git, scratch)
        await repo._run(
            "init",
            "--quiet",
            "--bare",
            f"--initial-branch={default_branch}",
            str(path),
            in_repo=False,
        )
        return repo

    async def _run(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        ok: Sequence[int] = (0,),
        in_repo: bool = True,
    ) -> tuple[int, bytes]:
        argv = [self._git_bin, *(["-C", str(self.path)] if in_repo else []), *args]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**self._env, **(env or {})},
        )
        out, err = await proc.communicate(stdin)
        code = proc.returncode if proc.returncode is not None else -1
        if code not in ok:
            shown = " ".join(args)
            raise GitError(f"git {shown} exited {code}: {err.decode(errors='replace').strip()}")
        return code, out

    async def _text(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        _, out = await self._run(*args, stdin=stdin, env=env)
        return out.decode().strip()

    # --- reading ------------------------------------------------------------------------

    async def resolve(self, ref: str) -> str | None:
        """The commit a branch name, tag name or (abbreviated) sha names, as GitHub reads `ref`."""
        if not ref or _BAD_REF.search(ref):
            return None
        if ref.startswith("refs/"):
            candidates = [ref]
        else:
            candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}"]
            if _HEX.match(ref):
                candidates.append(ref)
        for name in candidates:
            code, out = await self._run(
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{name}^{{commit}}",
                ok=(0, 1, 128),
            )
            if code == 0:
                return out.decode().strip()
        return None

    async def branch_head(self, branch: str) -> str | None:
        """The sha `refs/heads/<branch>` points at, or None if there is no such branch."""
        return await self.resolve(f"refs/heads/{branch}")

    async def branches(self) -> dict[str, str]:
        """Every branch and the sha it points at."""
        out = await self._text(
            "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/"
        )
        pairs = (line.rsplit(" ", 1) for line in out.splitlines() if line)
        return {name: sha for name, sha in pairs}

    async def commit_info(self, sha: str) -> CommitInfo:
        """Parse a commit object (cached: objects never change)."""
        cached = self._commits.get(sha)
        if cached is not None:
            return cached
        _, raw = await self._run("cat-file", "commit", sha)
        head, _, message = raw.decode("utf-8", errors="replace").partition("\n\n")
        fields: dict[str, list[str]] = {}
        for line in head.splitlines():
            if line.startswith(" "):
                continue  # a continuation line of a multi-line header such as gpgsig
            key, _, value = line.partition(" ")
            fields.setdefault(key, []).append(value)
        info = CommitInfo(
            sha=sha,
            tree=fields["tree"][0],
            parents=tuple(fields.get("parent", [])),
            author=_parse_identity(fields["author"][0]),
            committer=_parse_identity(fields["committer"][0]),
            message=message.rstrip("\n"),
        )
        self._commits[sha] = info
        return info

    async def entry(self, commit: str, path: str) -> TreeEntry | None:
        """The tree entry at `path` in `commit`, or None if nothing is there."""
        if not path:
            info = await self.commit_info(commit)
            return TreeEntry("040000", "tree", info.tree, None, "")
        _, out = await self._run("ls-tree", "-z", "-l", "--full-tree", commit, "--", path)
        for entry in _parse_ls_tree(out):
            if entry.path == path:
                return entry
        return None

    async def list_tree(self, commit: str, path: str = "") -> list[TreeEntry]:
        """The entries directly inside the directory `path` (paths relative to the root)."""
        treeish = f"{commit}^{{tree}}" if not path else f"{commit}:{path}"
        _, out = await self._run("ls-tree", "-z", "-l", treeish)
        prefix = f"{path}/" if path else ""
        return [
            TreeEntry(e.mode, e.kind, e.sha, e.size, prefix + e.path) for e in _parse_ls_tree(out)
        ]

    async def blob(self, sha: str) -> bytes:
        """A blob's bytes (cached)."""
        cached = self._blobs.get(sha)
        if cached is None:
            _, cached = await self._run("cat-file", "blob", sha)
            self._blobs[sha] = cached
        return cached

    async def changes(self, parent: str | None, commit: str) -> Changes:
        """What `commit` did to the files of `parent` (everything is added for a root commit)."""
        if parent is None:
            _, out = await self._run(
                "diff-tree", "-r", "-z", "--no-renames", "--name-status", "--root", commit
            )
            # With --root and a single commit, git prints the commit id first.
            out = out.split(b"\0", 1)[1] if out else out
        else:
            _, out = await self._run(
                "diff-tree", "-r", "-z", "--no-renames", "--name-status", parent, commit
            )
        added: list[str] = []
        removed: list[str] = []
        modified: list[str] = []
        fields = out.decode().split("\0")
        for status, path in zip(fields[0::2], fields[1::2], strict=False):
            {"A": added, "D": removed}.get(status, modified).append(path)
        return Changes(tuple(added), tuple(removed), tuple(modified))

    # --- writing ------------------------------------------------------------------------

    async def write_blob(self, data: bytes) -> str:
        """Store a blob and return its sha."""
        out = await self._text("hash-object", "-w", "--no-filters", "--stdin", stdin=data)
        self._blobs.setdefault(out, data)
        return out

    async def commit_files(
        self,
        parent: str | None,
        files: Mapping[str, bytes | None],
        *,
        message: str,
        author: Identity,
        committer: Identity,
    ) -> str:
        """Write a commit on top of `parent` that sets (bytes) or deletes (None) `files`.

        Only objects are written; no ref moves until `update_ref`. A private index file is
        used, so concurrent commits in other repositories or branches never share state.
        """
        for path in files:
            check_path(path)
        index = self._scratch / f"index-{uuid.uuid4().hex}"
        env = {"GIT_INDEX_FILE": str(index)}
        written = [(p, data) for p, data in files.items() if data is not None]
        shas = await asyncio.gather(*(self.write_blob(data) for _, data in written))
        lines = [f"{FILE_MODE} {sha}\t{p}" for (p, _), sha in zip(written, shas, strict=True)]
        # Mode 0 with the null sha removes the path from the index.
        lines += [f"0 {ZERO_SHA}\t{p}" for p, data in files.items() if data is None]
        try:
            if parent is None:
                await self._run("read-tree", "--empty", env=env)
            else:
                await self._run("read-tree", parent, env=env)
            if lines:
                stdin = "".join(line + "\0" for line in lines).encode()
                await self._run("update-index", "-z", "--index-info", stdin=stdin, env=env)
            _, out = await self._run("write-tree", env=env)
            tree = out.decode().strip()
        finally:
            index.unlink(missing_ok=True)
        args = ["commit-tree", tree, *(["-p", parent] if parent else []), "-F", "-"]
        _, out = await self._run(
            *args,
            # git's own tools end a message with a newline; GitHub shows it without.
            stdin=(message.rstrip("\n") + "\n").encode(),
            env={**author.env("AUTHOR"), **committer.env("COMMITTER")},
        )
        return out.decode().strip()

    async def commit_tree(
        self,
        tree: str,
        parents: Sequence[str],
        *,
        message: str,
        author: Identity,
        committer: Identity,
    ) -> str:
        """Write a commit object for `tree` with `parents` (no ref moves)."""
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        _, out = await self._run(
            *args,
            "-F",
            "-",
            stdin=(message.rstrip("\n") + "\n").encode(),
            env={**author.env("AUTHOR"), **committer.env("COMMITTER")},
        )
        return out.decode().strip()

    async def merge_tree(self, ours: str, theirs: str) -> MergeResult:
        """Three-way merge of two commits at their merge base, by git's own merge machinery.

        Nothing but objects is written: the tree git would check out, conflict markers
        included, and the list of conflicted paths (empty when the merge is clean).
        """
        code, out = await self._run(
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            "-z",
            ours,
            theirs,
            ok=(0, 1),
        )
        fields = out.decode().split("\0")
        conflicts = [] if code == 0 else [f for f in fields[1:] if f]
        return MergeResult(fields[0].strip(), tuple(dict.fromkeys(conflicts)))

    async def cherry_pick_tree(self, commit: str, onto: str) -> MergeResult:
        """The tree `git cherry-pick commit` would give on top of `onto`.

        A cherry-pick is a three-way merge whose base is the commit's parent. git before
        2.40 has no `merge-tree --merge-base`, so a throw-away commit with `onto`'s tree
        and the parent as its only parent stands in for `onto`: its one merge base with
        `commit` is then exactly that parent, and git does the rest.
        """
        info = await self.commit_info(commit)
        if len(info.parents) != 1:
            raise GitError(f"cannot cherry-pick {commit}: it has {len(info.parents)} parents")
        base = await self.commit_info(onto)
        stand_in = await self.commit_tree(
            base.tree,
            info.parents,
            message="sandbox cherry-pick base",
            author=base.author,
            committer=base.committer,
        )
        return await self.merge_tree(stand_in, commit)

    async def merge_base(self, a: str, b: str) -> str | None:
        code, out = await self._run("merge-base", a, b, ok=(0, 1))
        return out.decode().strip() if code == 0 else None

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        code, _ = await self._run("merge-base", "--is-ancestor", ancestor, descendant, ok=(0, 1))
        return code == 0

    async def rev_list(self, *args: str) -> list[str]:
        """`git rev-list ARGS`, one sha a line."""
        out = await self._text("rev-list", *args)
        return out.split() if out else []

    async def tree_of(self, treeish: str) -> str | None:
        code, out = await self._run(
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{treeish}^{{tree}}",
            ok=(0, 1, 128),
        )
        return out.decode().strip() if code == 0 else None

    async def object_type(self, sha: str) -> str | None:
        """commit, tree, blob or tag; None if no such object."""
        if not SHA.match(sha):
            return None
        code, out = await self._run("cat-file", "-t", sha, ok=(0, 1, 128))
        return out.decode().strip() if code == 0 else None

    async def refs(self, prefix: str = "refs/") -> list[Ref]:
        """Every ref under `prefix`, sorted by name."""
        out = await self._text(
            "for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", prefix
        )
        refs = []
        for line in out.splitlines():
            name, sha, kind = line.rsplit(" ", 2)
            refs.append(Ref(name, sha, kind))
        return refs

    async def ref(self, name: str) -> Ref | None:
        """One fully qualified ref, or None."""
        if _BAD_REF.search(name.removeprefix("refs/")):
            return None
        found = [r for r in await self.refs(name) if r.name == name]
        return found[0] if found else None

    async def tree_entries(self, tree: str, *, recursive: bool = False) -> list[TreeEntry]:
        args = ["ls-tree", "-z", "-l", *(["-r", "-t"] if recursive else []), tree]
        _, out = await self._run(*args)
        return _parse_ls_tree(out)

    async def write_tree(self, base_tree: str | None, entries: Sequence[NewEntry]) -> str:
        """A new tree: `base_tree` (or nothing) with `entries` set or deleted, as POST /git/trees.

        An entry replaces whatever was at its path (a file, or a directory and everything
        under it) and any file where one of its parent directories must go.
        """
        for entry in entries:
            check_path(entry.path)
        index = self._scratch / f"index-{uuid.uuid4().hex}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if base_tree is None:
                await self._run("read-tree", "--empty", env=env)
            else:
                await self._run("read-tree", base_tree, env=env)
            _, listed = await self._run("ls-files", "-z", env=env)
            present = [p for p in listed.decode().split("\0") if p]
            doomed: set[str] = set()
            for entry in entries:
                parents = {
                    "/".join(entry.path.split("/")[:n]) for n in range(1, entry.path.count("/") + 1)
                }
                doomed.update(
                    p
                    for p in present
                    if p == entry.path or p.startswith(entry.path + "/") or p in parents
                )
            lines = [f"0 {ZERO_SHA}\t{p}" for p in sorted(doomed)]
            lines += [
                f"{e.mode} {e.sha}\t{e.path}"
                for e in entries
                if e.sha is not None and e.kind != "tree"
            ]
            if lines:
                stdin = "".join(line + "\0" for line in lines).encode()
                await self._run("update-index", "-z", "--index-info", stdin=stdin, env=env)
            for entry in entries:
                if entry.sha is not None and entry.kind == "tree":
                    await self._run("read-tree", f"--prefix={entry.path}/", entry.sha, env=env)
            return await self._text("write-tree", env=env)
        finally:
            index.unlink(missing_ok=True)

    async def diff(self, old: str | None, new: str) -> list[FileDiff]:
        """The files that differ between two commits (or trees), with GitHub's status words,
        line counts and each file's patch (hunks only, as GitHub shows it).
        """
        base = old if old is not None else EMPTY_TREE
        _, raw = await self._run("diff-tree", "-r", "-z", "-M", "--raw", "--numstat", base, new)
        _, patch_out = await self._run(
            "diff-tree", "-r", "-M", "-p", "--no-color", "--full-index", base, new
        )
        records = _parse_raw_numstat(raw)
        patches = _split_patches(patch_out.decode("utf-8", errors="replace"))
        files = []
        for index, (status, old_sha, new_sha, path, previous, adds, dels) in enumerate(records):
            word = {"A": "added", "D": "removed", "M": "modified", "R": "renamed"}.get(
                status[0], "changed"
            )
            if word == "modified" and old_sha == new_sha:
                word = "changed"  # only the mode changed
            files.append(
                FileDiff(
                    filename=path,
                    status=word,
                    additions=adds,
                    deletions=dels,
                    sha=old_sha if word == "removed" else new_sha,
                    previous_filename=previous,
                    patch=patches[index] if index < len(patches) else None,
                )
            )
        return files

    async def update_ref(self, ref: str, new: str | None, old: str | None) -> None:
        """Move (or with `new` None, delete) `ref`, only if it still points at `old`.

        `old` None means the ref must not exist yet; git checks this atomically.
        """
        expected = old or ZERO_SHA
        if new is None:
            await self._run("update-ref", "-d", ref, expected)
        else:
            await self._run("update-ref", ref, new, expected)


def _parse_ls_tree(out: bytes) -> list[TreeEntry]:
    entries = []
    for record in out.decode().split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, kind, sha, size = meta.split()
        entries.append(TreeEntry(mode, kind, sha, None if size == "-" else int(size), path))
    return entries


def _parse_raw_numstat(
    out: bytes,
) -> list[tuple[str, str, str, str, str | None, int, int]]:
    """Records of `diff-tree -z --raw --numstat`: the raw lines first, then the counts."""
    fields = out.decode("utf-8", errors="replace").split("\0")
    raw: list[tuple[str, str, str, str, str | None]] = []
    i = 0
    while i < len(fields) and fields[i].startswith(":"):
        _, _, old_sha, new_sha, status = fields[i][1:].split(" ")
        if status[0] in "RC":
            raw.append((status, old_sha, new_sha, fields[i + 2], fields[i + 1]))
            i += 3
        else:
            raw.append((status, old_sha, new_sha, fields[i + 1], None))
            i += 2
    counts: list[tuple[int, int]] = []
    while i < len(fields):
        if not fields[i]:
            i += 1
            continue
        adds, dels, path = fields[i].split("\t", 2)
        # A rename's counts come as "A\tD\t" then the old and new paths as fields.
        i += 3 if path == "" else 1
        counts.append((int(adds) if adds != "-" else 0, int(dels) if dels != "-" else 0))
    return [
        (*r[:3], r[3], r[4], *(counts[n] if n < len(counts) else (0, 0))) for n, r in enumerate(raw)
    ]


def _split_patches(text: str) -> list[str | None]:
    """Each file's hunks from a `diff-tree -p` output, in order (None: no hunks, e.g. binary)."""
    if not text:
        return []
    patches: list[str | None] = []
    # Only a header line can start with "diff --git": content lines carry a +, - or space.
    for block in text.split("\ndiff --git "):
        start = block.find("\n@@")
        patches.append(block[start + 1 :].rstrip("\n") if start != -1 else None)
    return patches
