def test_probe():
    import annotation.core
    assert annotation.core.__file__.endswith("annotation/core/__init__.py")
