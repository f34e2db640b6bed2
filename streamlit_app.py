"""Entry point: `streamlit run streamlit_app.py`. Only navigation lives here."""
import streamlit as st

st.set_page_config(page_title="Brain MRI tumour classifier", page_icon=":material/neurology:", layout="wide")

navigation = st.navigation([
    st.Page("pages/diagnose.py", title="Diagnose", icon=":material/neurology:", default=True),
    st.Page("pages/model_card.py", title="Model card", icon=":material/analytics:"),
    st.Page("pages/model_comparison.py", title="Model comparison", icon=":material/compare:"),
    st.Page("pages/data_evaluation.py", title="Data & evaluation", icon=":material/fact_check:"),
])
navigation.run()
