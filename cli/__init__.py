"""The command line of the contract: `python main.py COMMAND …`."""
