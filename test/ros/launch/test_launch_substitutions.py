"""Substitution grammar of the launch XML subset: $(var), $(env), $(find-pkg-share)."""

import pytest

from rl_control.ros.launch.model import LaunchError
from rl_control.ros.launch.substitutions import evaluate, has_substitution, parse_template


def _eval(text: str, configs: dict[str, str] | None = None, env: dict[str, str] | None = None):
    return evaluate(parse_template(text), configs or {}, env or {}, lambda pkg: f"/share/{pkg}")


def test_plain_text_has_no_substitution() -> None:
    assert parse_template("just text") == ("just text",)
    assert not has_substitution(parse_template("a (b) 'c'"))
    assert _eval("a (b) 'c'") == "a (b) 'c'"


def test_var_env_and_find_pkg_share_in_one_string() -> None:
    text = "$(find-pkg-share rl_control)/config/$(var algo)_$(env TASK).yaml"
    assert (
        _eval(text, {"algo": "ppo"}, {"TASK": "cartpole"})
        == "/share/rl_control/config/ppo_cartpole.yaml"
    )


def test_defaults_of_var_and_env_including_quoted_and_nested() -> None:
    assert _eval("$(var missing fallback)") == "fallback"
    assert _eval("$(env NOPE 'two words')") == "two words"
    assert _eval('$(env NOPE "x$(var a)y")', {"a": "-"}) == "x-y"
    assert _eval("$(var $(var which))", {"which": "b", "b": "deep"}) == "deep"


def test_missing_values_are_named() -> None:
    with pytest.raises(LaunchError, match="launch configuration 'x' does not exist"):
        _eval("$(var x)")
    with pytest.raises(LaunchError, match="environment variable 'NOPE' does not exist"):
        _eval("$(env NOPE)")


def test_backslash_escapes_a_dollar() -> None:
    assert _eval(r"\$(var x) costs \\1") == r"$(var x) costs \1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$(command ls)", r"unsupported substitution \$\(command"),
        ("$(eval 1 + 1)", r"\$\(eval\) expects 1 argument"),  # unquoted: three arguments
        ("$(dirname)", r"unsupported substitution \$\(dirname"),
        ("$(var)", r"\$\(var\) expects 1 or 2 argument"),
        ("$(find-pkg-share a b)", r"expects 1 argument"),
        ("$(var x", "unterminated substitution"),
        ("$(var 'x)", "unterminated quote"),
        ("$( var x)", "expected a substitution name"),
    ],
)
def test_refusals_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(LaunchError, match=message):
        parse_template(text)


def test_eval_computes_the_arithmetic_and_boolean_subset() -> None:
    """`$(eval)` as `ros2 launch` prints Python values: what N worker groups need."""
    assert _eval("$(eval '$(var n) > 2')", {"n": "3"}) == "True"
    assert _eval("$(eval '$(var n) > 2')", {"n": "2"}) == "False"
    assert _eval("$(eval '$(var seed) + 2')", {"seed": "7"}) == "9"
    assert _eval("""$(eval "'w_1' if $(var n) > 1 else ''")""", {"n": "1"}) == ""
    assert _eval("""$(eval "'$(var ns)' and '/$(var ns)/u' or '/u'")""", {"ns": "r1"}) == "/r1/u"
    assert _eval("$(eval 'not 1 < 2 < 3 or 4 % 3 == 1')") == "True"


def test_expression_values_print_as_python_does() -> None:
    from rl_control.ros.launch.expression import evaluate_expression

    assert evaluate_expression(" 7 // 2 ") == "3" and evaluate_expression("'a' + 'b'") == "ab"


@pytest.mark.parametrize("expr", ["__import__('os')", "[1, 2]", "x.y", "1 in (1,)", "1 +"])
def test_eval_refuses_anything_outside_the_subset(expr: str) -> None:
    with pytest.raises(LaunchError, match=r"\$\(eval\)"):
        _eval(f'$(eval "{expr}")')


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("'dog1,dog2'.split(',')[1]", "dog2"),
        ("'dog1,dog2'.split(',')[-1]", "dog2"),
        ("'a b'.split()", "['a', 'b']"),  # printed as Python prints the list
        ("len('dog1,dog2,'.split(','))", "3"),
        ("len('abc')", "3"),
        ("' /dog1/ '.strip().strip('/')", "dog1"),
        ("'a, /b'.replace(' ', '').replace(',/', ',')", "a,b"),
        ("'a,b,a'.split(',').count('a') > 1", "True"),
        ("'banana'.count('an')", "2"),
        ("'abc'[0] + 'x'", "ax"),
        ("'a,b'.split(',')[2] if len('a,b'.split(',')) > 2 else ''", ""),  # guarded: no error
    ],
)
def test_eval_takes_list_arguments_apart(expr: str, value: str) -> None:
    """What a comma-separated list argument (robot_namespaces:=dog1,dog2) needs: split,
    strip, replace, count, len and an integer subscript, valued as Python values them."""
    from rl_control.ros.launch.expression import evaluate_expression

    assert evaluate_expression(expr) == value == str(eval(expr, {}, {}))  # as ros2 launch


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (
            "'a'.upper()",
            "method str.upper is not supported (only str.split, str.strip, "
            "str.replace, str.count, list.count)",
        ),
        ("'a,b'.split(',').pop()", "method list.pop is not supported"),
        ("(1).bit_length()", "method int.bit_length is not supported"),
        ("'a'.__class__", "not the attribute \"'a'.__class__\""),
        ("'a'.split.__self__", "not the attribute"),
        ("open('x')", "the only function is len(x), not open()"),
        ("len('a', 'b')", "the only function is len(x), not len()"),
        ("len(3)", "len() takes a string or a list"),
        ("'a'.split(sep=',')", "keyword or starred arguments are not supported"),
        ("'a'.split(1)", "str.split takes 0 to 1 string argument(s)"),
        ("'a'.replace('a')", "str.replace takes 2 string argument(s)"),
        ("'a'.split('')", "empty separator"),
        ("'abc'[0:2]", "slices are not supported"),
        ("'abc'['a']", "only a string or a list takes a subscript, by an integer"),
        ("(1)[0]", "only a string or a list takes a subscript"),
        ("'a,b'.split(',')[2]", "index 2 out of range for ['a', 'b'] (2 items)"),
        ("[x for x in 'ab']", "not the comprehension"),
        ("x", "not the name 'x'"),
    ],
)
def test_eval_refuses_other_calls_and_subscripts_naming_them(expr: str, message: str) -> None:
    from rl_control.ros.launch.expression import evaluate_expression

    with pytest.raises(LaunchError, match=r"^\$\(eval\): ") as err:
        evaluate_expression(expr)
    assert message in str(err.value)
