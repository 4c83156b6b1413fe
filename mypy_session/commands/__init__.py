"""The commands that read a whole project (`audit`, `callers`, `baseline`, SARIF output).

Each runs one in-process mypy build with the plugin on (`build.run`): the plugin's own
hooks record what they decide (`recorder`), and a mypy report hook hands each checked
source module, with its types, to the command before mypy frees it. So the commands reuse
the plugin's analysis instead of repeating it.
"""
