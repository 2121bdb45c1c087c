"""Custom actions: named calls to the customer's API, made through Countersign so that
the API learns who the user is only when Countersign verified it.

- :mod:`countersign.vocabulary.action_schema` -- the JSON Schema of an action's
  parameters (a pure module: storage checks a schema when it is stored);
- :mod:`.payload` -- the request body, and the rule about identities;
- :mod:`.invoke` -- one call, signed, guarded and classified.
"""

from ..vocabulary.action_schema import DEFAULT_SCHEMA as DEFAULT_SCHEMA
from ..vocabulary.action_schema import InvalidSchema as InvalidSchema
from ..vocabulary.action_schema import ParameterError as ParameterError
from ..vocabulary.action_schema import check_parameters_schema as check_parameters_schema
from .invoke import OUTCOMES as OUTCOMES
from .invoke import ActionTarget as ActionTarget
from .invoke import CallResult as CallResult
from .invoke import invoke as invoke
from .payload import Caller as Caller
from .payload import VerifiedUser as VerifiedUser
from .payload import request_body as request_body
