"""The installed package: its stub agrees with the compiled module, its public names exist, no GPU needed."""
import ast
import re
from importlib import resources

import eepart_fast
from eepart_fast import _core


def stub_functions():
    tree = ast.parse((resources.files("eepart_fast") / "_core.pyi").read_text())
    return {node.name: [a.arg for a in node.args.args + node.args.kwonlyargs]
            for node in tree.body if isinstance(node, ast.FunctionDef)}


def stub_classes():
    tree = ast.parse((resources.files("eepart_fast") / "_core.pyi").read_text())
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


def module_functions():
    """Public functions of _core with their parameter names, from pybind11's signature line."""
    out = {}
    for name in dir(_core):
        obj = getattr(_core, name)
        if name.startswith("_") or not callable(obj) or isinstance(obj, type):
            continue
        signature = obj.__doc__.splitlines()[0]
        params = signature[signature.index("(") + 1: signature.rindex(") ->")]
        out[name] = [p.split(":")[0].strip() for p in re.split(r",\s*(?![^\[]*\])", params)
                     if p.strip() not in ("*", "")]
    return out


def test_stub_and_module_agree():
    assert stub_functions() == module_functions()
    assert stub_classes() == {n for n in dir(_core) if isinstance(getattr(_core, n), type) and not n.startswith("_")}


def test_public_names_and_typed_marker():
    for name in eepart_fast.__all__:
        assert hasattr(eepart_fast, name), name
    assert (resources.files("eepart_fast") / "py.typed").is_file()


def test_cpu_backend_always_there_and_cuda_explains_itself():
    info = eepart_fast.backends()
    assert info["cpu"]["available"] and info["numpy"]["available"]
    for name in ("cuda", "cupy"):
        assert info[name]["available"] or info[name]["reason"]


def test_one_version():
    """The version has one copy (_version.py): the compiled module gets it from CMake, which reads it too."""
    assert eepart_fast.__version__ == _core.__version__
