"""minidl's import graph in numbers: nodes, edges, the edges that run back up, cycles; and the files a path visits.

Nodes are the package's top-level files and folders (`backend.py`, `autograd/`, ...); an edge A -> B means a file
of A imports something of B (at module level or inside a function). The back-edges are the fewest edges whose
removal leaves no cycle (found exactly: the strongly connected components are small); the cycles are the
strongly connected components of more than one node.

    python tools/import_graph.py [ROOT]                 # the graph
    python tools/import_graph.py [ROOT] --path FILE...  # files and lines reached by following imports from FILEs
"""
import ast
import itertools
import os
import sys


def _modules(root):
    """{dotted module name: file path} of every .py file under ROOT/minidl."""
    found = {}
    for folder, _, files in os.walk(os.path.join(root, "minidl")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                found[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return found


def _imports(module, path, modules):
    """The minidl modules a file imports (each `from X import name` counts X.name when that is a module)."""
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    with open(path) as f:
        tree = ast.parse(f.read())
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                name = f"{base}.{alias.name}"
                targets.add(name if name in modules else base)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args
              and isinstance(node.args[0], ast.JoinedStr)):
            pass  # importlib with a computed name: not followed
    return {t for t in targets if t in modules}


def _node(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "minidl"


def graph(root):
    modules = _modules(root)
    edges = set()
    for module, path in modules.items():
        for target in _imports(module, path, modules):
            a, b = _node(module), _node(target)
            if a != b and "minidl" not in (a, b):  # the package's __init__ re-exports everything: not a layer
                edges.add((a, b))
    nodes = {_node(m) for m in modules} - {"minidl"}
    return nodes, edges


def _components(nodes, edges):
    """Strongly connected components (Tarjan's algorithm)."""
    out = {n: sorted(b for a, b in edges if a == n) for n in nodes}
    index, low, stack, on, result = {}, {}, [], set(), []

    def visit(n):
        index[n] = low[n] = len(index)
        stack.append(n)
        on.add(n)
        for m in out[n]:
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in on:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            component = set()
            while True:
                m = stack.pop()
                on.discard(m)
                component.add(m)
                if m == n:
                    break
            result.append(component)

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return result


def _acyclic(nodes, edges):
    return all(len(c) == 1 for c in _components(nodes, edges))


def back_edges(nodes, edges):
    """The fewest edges whose removal leaves the graph acyclic (exhaustive within each cycle)."""
    cut = []
    for component in _components(nodes, edges):
        if len(component) < 2:
            continue
        inner = sorted((a, b) for a, b in edges if a in component and b in component)
        for k in range(1, len(inner) + 1):
            found = next((c for c in itertools.combinations(inner, k)
                          if _acyclic(component, set(inner) - set(c))), None)
            if found:
                cut.extend(found)
                break
    return cut


def layers(nodes, edges):
    """Layer of each node once the back-edges are cut: 0 imports nothing of minidl, others sit above their imports."""
    kept = set(edges) - set(back_edges(nodes, edges))
    level = {}

    def depth(n):
        if n not in level:
            level[n] = 1 + max((depth(b) for a, b in kept if a == n), default=-1)
        return level[n]

    return {n: depth(n) for n in nodes}


def reached(root, starts):
    """(files, lines) reached by following minidl imports from the files `starts` (paths relative to ROOT)."""
    modules = _modules(root)
    by_path = {os.path.relpath(p, root): m for m, p in modules.items()}
    todo, seen = [by_path[s] for s in starts], set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(_imports(module, modules[module], modules))
        parent = module.rpartition(".")[0]
        if parent:  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
            todo.append(parent)
    files = sorted(os.path.relpath(modules[m], root) for m in seen)
    lines = {f: len(open(os.path.join(root, f)).read().splitlines()) for f in files}
    return lines


def main(argv):
    root = argv[0] if argv and not argv[0].startswith("--") else "."
    if "--path" in argv:
        lines = reached(root, argv[argv.index("--path") + 1:])
        for f, n in lines.items():
            print(f"{n:5d}  {f}")
        print(f"{sum(lines.values()):,} lines in {len(lines)} files")
        return
    nodes, edges = graph(root)
    cut = back_edges(nodes, edges)
    level = layers(nodes, edges)
    cycles = [c for c in _components(nodes, edges) if len(c) > 1]
    print(f"{len(nodes)} nodes on {max(level.values()) + 1} layers, {len(edges)} edges, "
          f"{len(cut)} back-edges, {len(cycles)} cycles")
    for a, b in cut:
        print(f"  back-edge: {a} -> {b}")
    for c in cycles:
        print(f"  cycle: {sorted(c)}")
    for depth in sorted(set(level.values()), reverse=True):
        print(f"  layer {depth}: {', '.join(sorted(n for n in nodes if level[n] == depth))}")


if __name__ == "__main__":
    main(sys.argv[1:])
