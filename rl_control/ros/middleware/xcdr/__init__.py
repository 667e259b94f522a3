"""Fast XCDR1 codec: encode/decode functions generated per message type from its .msg spec.

cyclonedds-python's serializer walks the type at run time with several Python calls per field
and per alignment step (15-90 µs a message). Here each type gets straight-line Python source,
compiled once, in which consecutive fixed-size fields (across nested structs, e.g. a Header's
stamp, a Pose's 7 doubles and a covariance) are packed or unpacked by one precompiled
struct.Struct. Alignment follows XCDR1 (to the field size, at most 8, counted from the end of
the 4-byte encapsulation header); where a string or sequence makes the position unknown at
generation time, a table of 8 Structs, one per position mod 8, is indexed at run time.

The bytes are exactly those of cyclonedds-python's own XCDR1 little-endian serializer and the
decoded samples equal its output (tests check every type). Whatever the generated code does
not take raises _Reject, and the caller then uses cyclonedds' path, which gives its own result
or error; see runtime.py for when that happens.
"""

from __future__ import annotations

from collections.abc import Callable

from rl_control.ros.middleware.msgdef import MessageSpec
from rl_control.ros.middleware.xcdr import runtime as rt
from rl_control.ros.middleware.xcdr.base import Module, Unsupported
from rl_control.ros.middleware.xcdr.decoder import Decoder
from rl_control.ros.middleware.xcdr.encoder import Encoder

__all__ = ["generate", "install"]


def generate(
    spec: MessageSpec,
    spec_of: Callable[[str], MessageSpec],
    class_of: Callable[[str], type],
    root: type,
    plain_init: bool = False,
) -> rt.Codec:
    """Encoder and decoder of class `root` with the fields of `spec` (nested types through
    spec_of and class_of). plain_init: make decoded roots with root's own __init__ (Decoder)."""
    name = spec.type_name
    module = Module(
        lambda other: spec if other == name else spec_of(other),
        lambda other: root if other == name else class_of(other),  # root may be unregistered
        {"enc": Encoder, "dec": Decoder},
    )
    module.source += Encoder(module, 0).function("encode", name, top=True)
    decoder = Decoder(module, 0)
    module.source += decoder.function("decode", name, top=True, plain=root if plain_init else None)
    functions = module.compile(name)
    return rt.Codec(functions["encode"], functions["decode"], "\n".join(module.source))


def install(
    cls: type,
    spec: MessageSpec,
    spec_of: Callable[[str], MessageSpec],
    class_of: Callable[[str], type],
    *,
    plain_init: bool = False,
) -> bool:
    """Put a generated codec in front of cls's cyclonedds serializer (see runtime.py).
    False, and cls unchanged, when the fast codec is switched off or spec uses something the
    generator does not know."""
    if not rt.enabled():
        return False
    try:
        codec = generate(spec, spec_of, class_of, cls, plain_init)
    except Unsupported:
        return False
    rt.attach(cls, codec)
    return True
