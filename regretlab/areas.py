"""The research areas whose experiments the registry loads (imported only when asked).

Third-party packages add theirs through the ``regretlab.areas`` entry-point group.
"""
AREAS = (
    "regretlab.bandits.experiments",
    "regretlab.starc.experiments",
    "regretlab.mass_balance.experiments",
    "regretlab.preference.experiments",
    "regretlab.adversarial_mdp.experiments",
    "regretlab.llm_bandits.experiments",
    "regretlab.lsd.experiments",
)
