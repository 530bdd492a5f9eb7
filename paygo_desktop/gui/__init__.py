"""The Qt front end: thin views over the Qt-free core.

Only this package and ``paygo_desktop.app`` import Qt.
"""
