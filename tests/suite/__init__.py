"""The test suite, one module a subject.  A subject is a class whose
t_NAME methods are the tests NAME (in source order), and whose
data_tests(), if it has one, gives the tests it declares as data (the
lifecycle scenarios of lifecycles.SCENARIOS, the cli_bad_* cases).  Suite
joins the subjects; its tests run in the order of SUBJECTS."""

from .base import Base, test_methods
from .cgroups import Cgroups
from .cli import Cli
from .fuzz import Fuzz
from .layout import Layout
from .leaks import Leaks
from .lifecycles import Lifecycles
from .packaging import Packaging
from .ports import Ports
from .record_replay import RecordReplay
from .serve import Serve
from .top import Top
from .unit import Unit

SUBJECTS = (Cli, Lifecycles, RecordReplay, Ports, Cgroups, Layout, Leaks, Top, Serve, Packaging, Fuzz)


class Suite(Unit, *SUBJECTS, Base):
    LONG = Lifecycles.LONG

    def tests(self):
        found = []
        for subject in SUBJECTS:
            if "data_tests" in vars(subject):
                found += subject.data_tests(self)
            found += [(name, getattr(self, method)) for name, method in test_methods(subject)]
        return found
