import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from insurers.credit_code import ALPHABET, check_character, is_valid, problem
from insurers.models import validate_credit_code

# Codes printed on public business licences, used only to check the algorithm.
KNOWN_VALID = ["91350100M000100Y43", "91440300708461136T"]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_codes_are_valid(code):
    assert problem(code) is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        ("91350100M000100Y4I", "alphabet"),  # I is not in the alphabet
        ("91350100m000100Y43", "alphabet"),  # lower case
        ("91350100M000100Y44", "checksum"),
        ("91350100M000101Y43", "checksum"),
    ],
)
def test_bad_codes_name_the_reason(code, reason):
    assert problem(code) == reason


def test_validator_raises_a_translated_message():
    with pytest.raises(ValidationError) as exc:
        validate_credit_code("91350100M000100Y44")
    assert exc.value.code == "credit_code_checksum"
    assert "18" in str(exc.value.messages[0])


body = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(body)
def test_generated_codes_validate(first17):
    assert is_valid(first17 + check_character(first17))


@given(body, st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET))
def test_any_single_substitution_is_caught(first17, position, replacement):
    code = first17 + check_character(first17)
    changed = code[:position] + replacement + code[position + 1 :]
    # 31 is prime and no weight is a multiple of it, so one changed character always shows.
    assert is_valid(changed) == (changed == code)
