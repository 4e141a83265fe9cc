"""The labelling app: label a folder of photos with the model in the loop (``foxdog label``)."""
