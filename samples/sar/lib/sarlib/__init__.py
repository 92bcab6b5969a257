"""Code shared by the SAR sample modules: each module's snapshot gets a copy of this package
through its additional includes, the way AzureML modules share a library without publishing it.
"""
