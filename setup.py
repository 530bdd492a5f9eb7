"""Only what pyproject.toml cannot say: the top-level resources/ folder ships as paygo_desktop/resources.

Icons, themes and the contract artifacts live at the top of the repository (the design card's layout) and
travel inside the wheel, where paygo_desktop.resource_files finds them.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["paygo_desktop*"]), "paygo_desktop.resources"],
    package_dir={"paygo_desktop.resources": "resources"},
    package_data={
        "paygo_desktop": ["py.typed"],
        "paygo_desktop.provider": [
            "demo_catalog.json",
            "migrations/*.py",
            "migrations/*.mako",
            "migrations/versions/*.py",
        ],
        "paygo_desktop.store": ["migrations/*.py", "migrations/*.mako", "migrations/versions/*.py"],
        "paygo_desktop.resources": ["**/*"],
    },
)
