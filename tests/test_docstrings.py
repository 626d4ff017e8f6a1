"""numpydoc validation of every public class, function and method."""

import inspect

import pytest
from numpydoc import validate as numpydoc_validate

import gmm_estimators

# Checks we do not enforce, as in scikit-learn's own docstring test:
# extended summaries, See Also on every method, examples on every method,
# "Returns" first lines that also name the value (``bic : float``).
IGNORED = {"ES01", "SA01", "EX01", "RT02", "GL08", "SS05"}


def _public_names():
    for name in gmm_estimators.__all__:
        obj = getattr(gmm_estimators, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        yield f"gmm_estimators.{name}"
        if inspect.isclass(obj):
            for attr, member in inspect.getmembers(obj):
                if attr.startswith("_") or not callable(member):
                    continue
                if not getattr(member, "__module__", "").startswith("gmm_estimators"):
                    continue  # inherited from scikit-learn
                yield f"gmm_estimators.{name}.{attr}"


PUBLIC = sorted(set(_public_names()))


@pytest.mark.parametrize("name", PUBLIC)
def test_docstring(name):
    result = numpydoc_validate.validate(name)
    errors = [(code, msg) for code, msg in result["errors"] if code not in IGNORED]
    assert not errors, "\n".join(f"{code}: {msg}" for code, msg in errors)


@pytest.mark.parametrize(
    "name", [n for n in PUBLIC if n.count(".") == 1], ids=lambda n: n
)
def test_public_names_have_examples(name):
    result = numpydoc_validate.validate(name)
    assert "EX01" not in {code for code, _ in result["errors"]}, (
        f"{name} has no Examples section"
    )
