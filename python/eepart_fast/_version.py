"""The package's version, its one copy: pyproject.toml (scikit-build-core's regex provider), CMake (the
compiled modules' __version__) and eepart_fast.__version__ all read this line."""
__version__ = "0.1.0"
