"""Sample media shipped inside the wheel as ``frameinterp.samples`` (see ``frameinterp.bundled``)."""
