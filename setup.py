"""The compiled part of Porchlight: the camera-search cover's loops.

Everything else is in pyproject.toml. The extension is optional: on a machine that
cannot build it (no C compiler, say) the install goes on and
``porchlight.services.camera_search`` runs the same steps in Python
(docs/camera-lookup.md, "Compiled loops").
"""

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build the extension if this machine can; otherwise say why and go on."""

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:  # a missing compiler is an OSError, not a CompileError
            self.warn(f"{ext.name} not built ({error}); the camera search runs its "
                      "Python loops instead")


extensions = cythonize(
    [Extension(
        "porchlight.services._cover_native",
        ["src/porchlight/services/_cover_native.pyx"],
        # Python's rounding: no fused multiply-add, and pow(x, 2.0) stays libm's pow
        # (which Python's x ** 2 calls) instead of becoming x * x.
        extra_compile_args=["-O2", "-ffp-contract=off", "-fno-builtin-pow"],
    )],
    language_level=3,
)
for extension in extensions:
    # cythonize() drops Extension(optional=...); without it an editable install whose
    # build failed would still try to copy the missing library into src/.
    extension.optional = True

setup(cmdclass={"build_ext": OptionalBuildExt}, ext_modules=extensions)
