"""Math: KaTeX as a service under Node, the math check, build-time typesetting, the math elements of HTML."""
