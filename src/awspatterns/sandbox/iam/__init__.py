"""IAM in the sandbox (``enforcement``, the subsystem): who calls (``principals``), what a request needs
authorized (``requests``, ``resources``, ``s3``), the caller's identity policies parsed once (``policies``) and
evaluated with their conditions (``evaluation``, ``conditions``), resource policies found (``resource_policies``),
matched to their principals (``principal_match``) and combined with identity policies (``authorization``),
deliveries AWS services make admitted by the destination's policy (``services``), AWS's answer to a denial
(``denials``), the log and the record of decisions (``decisions``), AWS-managed policies attached as AWS does
(``managed``), and the credentials a function gets for its execution role (``credentials``)."""
